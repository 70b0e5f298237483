"""Runs written from Python, read by the Go side: `runlog ls --json`,
`runlog show --json`, `runlog export`, and `runlog run` with the client
attached.

The binary is built from the repository (`go build ./cmd/runlog`), or taken
from $RUNLOG_BIN (the `runlog_bin` fixture of conftest.py). Without Go
these tests are skipped.
"""

from __future__ import annotations

import csv
import json
import math
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, List

import pytest

import runlog
from conftest import child_env, start_script

PROTOTYPE_COLUMNS = "step,wallclock_time,elapsed_time,train_loss,val_loss,val_perplexity,learning_rate,tokens_per_sec"


def cli(binary: str, home: Path, *args: str) -> str:
    res = subprocess.run([binary, "--home", str(home), *args], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, f"runlog {' '.join(args)}: {res.stderr}"
    return res.stdout


def cli_json(binary: str, home: Path, *args: str) -> Any:
    return json.loads(cli(binary, home, *args))


def write_training_run(home: Path, tmp_path: Path) -> runlog.Run:
    """A run as a training script writes it, keys in an unusual order."""
    run = runlog.init(project="tinystories", name="py-baseline", config={"lr": 3e-4, "model": {"d_model": 64}},
                      tags=["python"], hypothesis="it learns", dir=str(home))
    run.define_metric("val_loss", goal="minimize")
    for step in range(6):
        loss = 4.0 - 0.5 * step
        run.log({"tokens_per_sec": 1000.0 + step, "learning_rate": 1e-3, "train_loss": loss, "grad_norm": 1.0})
        if step % 2 == 1:
            run.log({"val_loss": loss + 0.25, "val_perplexity": math.exp(loss + 0.25)}, step=step)
    run.log({"train_loss": math.nan, "grad_norm": math.inf, "learning_rate": -math.inf}, step=6)
    ckpt = tmp_path / "step_5.pt"
    ckpt.write_bytes(b"weights")
    run.log_artifact(ckpt, step=5, metadata={"val_loss": 1.75})
    run.summary["note"] = "diverged at step 6"
    run.summary["val_loss"] = 1.5  # overrides the computed final value
    run.alert("train_loss is NaN", "at step 6", level="error")
    run.finish()
    return run


def test_ls_show_export(runlog_bin: str, home: Path, tmp_path: Path) -> None:
    run = write_training_run(home, tmp_path)

    runs = cli_json(runlog_bin, home, "ls", "--json")
    assert len(runs) == 1
    r = runs[0]
    assert r["id"] == run.id and r["name"] == "py-baseline" and r["project"] == "tinystories"
    assert r["status"] == "finished" and r["exit_code"] == 0 and r["last_step"] == 6 and r["tags"] == ["python"]
    assert r["config"] == {"lr": 3e-4, "model": {"d_model": 64}} and r["hypothesis"] == "it learns"
    assert r["train_loss"] == {"step": 6, "value": "NaN"} and r["val_loss"]["value"] == 1.75

    show = cli_json(runlog_bin, home, "show", "--json", run.id)
    m = show["metrics"]
    assert m["train_loss"]["count"] == 7 and m["train_loss"]["nan_count"] == 1
    assert m["train_loss"]["initial"] == 4.0 and m["train_loss"]["min"] == 1.5
    assert m["grad_norm"]["inf_count"] == 1 and m["grad_norm"]["max"] == "Infinity"
    assert m["val_loss"]["goal"] == "minimize" and m["val_loss"]["best"] == 1.75 and m["val_loss"]["best_step"] == 5
    assert show["summary"]["val_loss"] == 1.5 and show["summary"]["note"] == "diverged at step 6"
    assert show["best_checkpoint"]["path"] == "checkpoints/step_5.pt" and show["best_checkpoint"]["step"] == 5
    assert show["alerts"] == 1 and show["events"][0]["title"] == "train_loss is NaN"
    assert show["total_steps"] == 7 and show["config"]["model"] == {"d_model": 64}

    out = tmp_path / "export"
    cli(runlog_bin, home, "export", run.id, "-o", str(out))
    text = (out / "metrics.csv").read_text()
    assert text.startswith(PROTOTYPE_COLUMNS + ",")
    rows = list(csv.DictReader(text.splitlines()))
    assert [int(x["step"]) for x in rows] == list(range(7))
    assert rows[1]["val_loss"] == "3.75" and rows[0]["val_loss"] == "" and rows[5]["train_loss"] == "1.5"
    assert (rows[6]["train_loss"], rows[6]["grad_norm"], rows[6]["learning_rate"]) == ("NaN", "inf", "-inf")
    assert float(rows[0]["wallclock_time"]) >= 0 and rows[0]["tokens_per_sec"] == "1000"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["id"] == run.id and summary["metrics"]["train_loss"]["nan_count"] == 1
    assert json.loads((out / "config.json").read_text())["lr"] == 3e-4


def test_rewind_and_resume_seen_by_go(runlog_bin: str, home: Path) -> None:
    run = runlog.init(dir=str(home), id="rw", name="rewound")
    for i in range(5):
        run.log({"train_loss": 5.0 - i})
    run.finish(137)
    run = runlog.init(dir=str(home), id="rw", resume="allow")
    run.rewind(2)
    run.log({"train_loss": 10.0})
    run.finish()
    r = cli_json(runlog_bin, home, "ls", "--json")[0]
    assert r["status"] == "finished" and r["last_step"] == 3
    show = cli_json(runlog_bin, home, "show", "--json", "rw")
    assert show["segments"] == 2 and show["metrics"]["train_loss"]["count"] == 4  # steps 3, 4 superseded
    assert show["metrics"]["train_loss"]["final"] == 10.0


def test_kill_9_shows_crashed_once_stale(runlog_bin: str, home: Path) -> None:
    """The child's clock runs 10 minutes behind, so that its last heartbeat
    is stale at once; what it flushed before the kill is all there."""
    proc = start_script(
        f"""
        import time
        _real = time.time
        time.time = lambda: _real() - 600
        import runlog
        runlog.init(dir={str(home)!r}, id="crashy")
        for i in range(100):
            runlog.log({{"train_loss": float(i)}})
        time.sleep(1.3)
        print("ready", flush=True)
        time.sleep(30)
        """
    )
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    r = cli_json(runlog_bin, home, "ls", "--json")[0]
    assert r["status"] == "crashed" and r["last_step"] == 99 and r["train_loss"] == {"step": 99, "value": 99.0}


def test_runlog_run_with_the_client_attached(runlog_bin: str, home: Path, tmp_path: Path) -> None:
    if subprocess.run([runlog_bin, "run", "--help"], capture_output=True).returncode != 0:
        pytest.skip("this runlog has no run command")
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(
        """
        import runlog
        run = runlog.init(project="ignored", config={"layers": 4})
        for step in range(5):
            runlog.log({"train_loss": 3.0 - step * 0.5})
        runlog.summary["from_python"] = 1
        runlog.finish()
        """
    ))
    env = child_env()
    res = subprocess.run(
        [runlog_bin, "--home", str(home), "run", "--name", "attached", "--project", "p", "--parse", "off", "--",
         sys.executable, str(script)],
        capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path,
    )
    if res.returncode != 0 and "parse" in res.stderr:  # older runner without --parse
        res = subprocess.run(
            [runlog_bin, "--home", str(home), "run", "--name", "attached", "--project", "p", "--",
             sys.executable, str(script)],
            capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path,
        )
    assert res.returncode == 0, res.stderr
    runs = cli_json(runlog_bin, home, "ls", "--json")
    assert len(runs) == 1, runs  # the client attached instead of creating a second run
    r = runs[0]
    assert r["name"] == "attached" and r["status"] == "finished" and r["last_step"] == 4
    assert r["config"]["layers"] == 4
    logs: List[str] = sorted(p.name for p in (home / "runs" / r["id"]).glob("run.*.log"))
    assert len(logs) == 1 and logs[0].startswith("run.py-")
    show = cli_json(runlog_bin, home, "show", "--json", r["id"])
    assert show["metrics"]["train_loss"]["count"] == 5 and show["summary"]["from_python"] == 1


def test_attached_script_names_the_run(runlog_bin: str, home: Path, tmp_path: Path) -> None:
    """What the script says of the run at init fills what runlog run's flags
    left unsaid; what the flags say wins."""
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(
        """
        import runlog
        runlog.init(project="lm", name="from-script", tags=["sweep"], hypothesis="h")
        runlog.log({"train_loss": 1.0})
        runlog.finish()
        """
    ))
    res = subprocess.run([runlog_bin, "--home", str(home), "run", "--notes", "from the flags", "--",
                          sys.executable, str(script)],
                         capture_output=True, text=True, timeout=60, env=child_env(), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    show = cli_json(runlog_bin, home, "show", "--json", "from-script")
    assert show["project"] == "lm" and show["tags"] == ["sweep"] and show["hypothesis"] == "h"
    assert show["notes"] == "from the flags"


def test_many_points_and_keys(runlog_bin: str, home: Path) -> None:
    """Enough records to need several flushes; every point arrives."""
    run = runlog.init(dir=str(home), name="bulk")
    t0 = time.time()
    for step in range(20000):
        run.log({"train_loss": 1.0 / (step + 1), f"layer{step % 50}/grad": float(step)})
    run.finish()
    assert time.time() - t0 < 20
    show = cli_json(runlog_bin, home, "show", "--json", run.id)
    assert show["metrics"]["train_loss"]["count"] == 20000
    assert sum(v["count"] for k, v in show["metrics"].items() if k.startswith("layer")) == 20000


def test_readme_quick_start(runlog_bin: str, home: Path, tmp_path: Path) -> None:
    """The README's quick start, run as written (with stand-ins for the
    training functions), gives a run that ls, show and export display."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    code = readme.split("```python\n", 1)[1].split("```", 1)[0]
    stubs = textwrap.dedent(
        """
        import math
        train_step = iter(4.0 * math.exp(-i / 300) for i in range(10**6)).__next__
        lr = lambda step: 3e-4 * min(1.0, (step + 1) / 100)
        evaluate = iter(3.0 - i * 0.1 for i in range(100)).__next__
        def save_checkpoint(step):
            path = f"step_{step}.pt"
            open(path, "wb").write(b"weights")
            return path
        """
    )
    res = subprocess.run([sys.executable, "-c", stubs + code], env=child_env(RUNLOG_HOME=str(home)), cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""
    r = cli_json(runlog_bin, home, "ls", "--json")[0]
    assert r["name"] == "baseline" and r["status"] == "finished" and r["last_step"] == 999
    assert r["val_loss"] == {"step": 900, "value": 2.1} and r["config"] == {"lr": 3e-4, "d_model": 512}
    show = cli_json(runlog_bin, home, "show", "--json", "baseline")
    assert show["checkpoints"] == 10 and show["best_checkpoint"]["path"] == "checkpoints/step_900.pt"
    out = tmp_path / "out"
    cli(runlog_bin, home, "export", "baseline", "-o", str(out))
    assert (out / "metrics.csv").read_text().startswith(PROTOTYPE_COLUMNS)
