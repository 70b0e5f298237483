"""A run resumed through the Python client by itself (resume=), read by
the Go side: a script that starts again at step 0 instead of continuing is
noticed — an alert says so — and the run is treated as rewound there, so
that show, statistics and exports hold one curve; a script that restores
its checkpoint and rewinds to it, or keeps counting steps, continues
without one (issue 19).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
from pathlib import Path
from typing import Any, Dict, List

import runlog


def show(binary: str, home: Path, ref: str) -> Dict[str, Any]:
    res = subprocess.run([binary, "--home", str(home), "show", "--json", ref], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def restart_alerts(s: Dict[str, Any]) -> List[str]:
    return [e["title"] for e in s["events"] if e["kind"] == "alert"]


def first_attempt(home: Path, run_id: str, tmp_path: Path) -> None:
    run = runlog.init(dir=str(home), id=run_id, name=run_id)
    for step in range(10):
        run.log({"train_loss": 10.0 - step}, step=step)
        if step == 5:
            ckpt = tmp_path / f"{run_id}-step_5.pt"
            ckpt.write_bytes(b"weights")
            run.log_artifact(ckpt, step=5, metadata={"val_loss": 4.0})
    run.finish(137)  # killed


def test_resume_that_started_again(runlog_bin: str, home: Path, tmp_path: Path) -> None:
    first_attempt(home, "again", tmp_path)
    run = runlog.init(dir=str(home), id="again", resume="allow")
    for step in range(6):  # trained from scratch
        run.log({"train_loss": 20.0 - step}, step=step)
    run.finish()

    s = show(runlog_bin, home, "again")
    m = s["metrics"]["train_loss"]
    assert (m["count"], m["initial_step"], m["final_step"], m["max"]) == (6, 0, 5, 20.0), m
    assert restart_alerts(s) == ["resumed from step 9, but started again at step 0"]
    # the abandoned attempt's checkpoint is superseded with its points
    assert s["segments"] == 2 and s.get("best_checkpoint") is None and s["checkpoints"] == 0

    out = tmp_path / "export"
    subprocess.run([runlog_bin, "--home", str(home), "export", "again", "-o", str(out)], check=True, capture_output=True)
    with open(out / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["step"] for r in rows] == [str(i) for i in range(6)]
    assert [float(r["train_loss"]) for r in rows] == [20.0 - i for i in range(6)]


def test_resume_that_restored_its_checkpoint(runlog_bin: str, home: Path, tmp_path: Path) -> None:
    first_attempt(home, "restored", tmp_path)
    run = runlog.init(dir=str(home), id="restored", resume="allow")
    path = run.restore_checkpoint()
    assert path is not None and path.endswith("restored-step_5.pt")
    run.rewind(5)
    for _ in range(6, 10):
        run.log({"train_loss": 1.0})  # steps 6..9
    run.finish()

    s = show(runlog_bin, home, "restored")
    m = s["metrics"]["train_loss"]
    assert (m["count"], m["initial_step"], m["final_step"], m["final"]) == (10, 0, 9, 1.0), m
    assert restart_alerts(s) == []


def test_resume_that_kept_counting(runlog_bin: str, home: Path, tmp_path: Path) -> None:
    first_attempt(home, "counting", tmp_path)
    run = runlog.init(dir=str(home), id="counting", resume="allow")
    run.log({"train_loss": 0.5})  # the step counter carries on: step 10
    run.finish()
    s = show(runlog_bin, home, "counting")
    m = s["metrics"]["train_loss"]
    assert (m["count"], m["final_step"]) == (11, 10) and restart_alerts(s) == []


def test_restore_checkpoint_skips_an_attempt_that_was_started_over(runlog_bin: str, home: Path, tmp_path: Path) -> None:
    """restore_checkpoint() reads the logs with the rule indexing applies:
    the checkpoints of an attempt that a restart went back before are not
    chosen — the same ones runlog counts as current."""
    first_attempt(home, "twice", tmp_path)  # checkpoint at step 5
    run = runlog.init(dir=str(home), id="twice", resume="allow")
    for step in range(4):  # started over, without restoring
        run.log({"train_loss": 20.0 - step}, step=step)
        if step == 2:
            mine = tmp_path / "twice-step_2.pt"
            mine.write_bytes(b"weights")
            run.log_artifact(mine, step=2, metadata={"val_loss": 9.0})
    run.finish(137)
    run = runlog.init(dir=str(home), id="twice", resume="allow")
    assert os.path.basename(run.restore_checkpoint() or "") == mine.name  # not step 5's, though later and better
    assert os.path.basename(run.restore_checkpoint("best") or "") == mine.name
    run.finish()
    s = show(runlog_bin, home, "twice")
    assert s["checkpoints"] == 1 and s["best_checkpoint"]["step"] == 2
