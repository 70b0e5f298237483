"""The wandb-style API: init, log and its step rules, values, config,
summary, define_metric, alert, artifacts, rewind, resume, module level."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import pytest

import runlog
from runlog import _format, _hooks, _writer
from conftest import only_run_folder, read_log, run_log


def test_quick_start(home: Path) -> None:
    run = runlog.init(project="tinystories", name="baseline", config={"lr": 3e-4, "model": {"d": 512}},
                      tags=["a", "b"], notes="n", group="g", hypothesis="h", dir=str(home))
    assert runlog.run is run and runlog.config is run.config and runlog.summary is run.summary
    for step in range(3):
        runlog.log({"train_loss": 3.0 - step, "learning_rate": 3e-4})
    runlog.finish()
    assert runlog.run is None
    assert run.dir == str(only_run_folder(home)) and run.name == "baseline" and run.project == "tinystories"
    log = run_log(run)
    h = log.header
    assert h["format"] == 1 and h["id"] == run.id and h["name"] == "baseline" and h["project"] == "tinystories"
    assert h["tags"] == ["a", "b"] and h["group"] == "g" and h["hypothesis"] == "h" and h["notes"] == "n"
    assert h["writer"].startswith("runlog-python/") and h["pid"] == os.getpid() and "python" in h["env"]
    assert list(h)[:3] == ["format", "id", "name"]
    assert log.configs == [{"lr": 3e-4, "model": {"d": 512}}]
    assert log.points["train_loss"] == [(0, 3.0), (1, 2.0), (2, 1.0)]
    assert log.status["status"] == "finished" and log.status["exit_code"] == 0
    assert json.loads((home / "runs" / run.id / "config.json").read_text()) == {"lr": 3e-4, "model": {"d": 512}}
    assert log.torn == 0 and log.skipped == 0


def test_step_rules(home: Path) -> None:
    run = runlog.init(dir=str(home))
    assert run.step == 0
    run.log({"a": 1})  # 0
    run.log({"a": 2}, step=10)
    run.log({"a": 3})  # 11
    run.log({"a": 4}, step=5)  # going back is allowed
    run.log({"a": 5})  # 6
    run.log({"a": 6}, step=6)  # repeating too
    assert run.step == 7
    run.log({}, step=20)  # nothing to write, but the step moves on
    run.log({"a": 7})
    run.finish()
    assert [s for s, _ in run_log(run).points["a"]] == [0, 10, 11, 5, 6, 6, 21]


def test_commit_false_accumulates_one_row(home: Path) -> None:
    run = runlog.init(dir=str(home))
    run.log({"train_loss": 1.0}, commit=False)
    run.log({"lr": 0.1}, commit=False)
    assert run.step == 0
    run.log({"acc": 0.5})  # commits step 0 with all three
    run.log({"train_loss": 2.0}, commit=False)
    run.log({"val_loss": 3.0}, step=7)  # another step: the pending row (step 1) is written first
    run.log({"x": 1.0}, commit=False)
    run.finish()  # writes the pending row
    log = run_log(run)
    metrics = [r.metrics() for r in log.records if r.type == _format.METRICS]
    assert [(s, len(p)) for s, _, p in metrics] == [(0, 3), (1, 1), (7, 1), (8, 1)]


def test_nested_dicts_flatten(home: Path) -> None:
    run = runlog.init(dir=str(home))
    run.log({"val": {"loss": 1.5, "acc": {"top1": 0.5}}, "train/loss": 2.0})
    run.log({"a/b": 1.0, "a": {"b": 2.0}})  # the same key twice: the last value wins
    run.finish()
    log = run_log(run)
    assert set(log.points) == {"val/loss", "val/acc/top1", "train/loss", "a/b"}
    assert log.points["a/b"] == [(1, 2.0)]


class FakeTensor:
    """Duck-typed like a torch tensor: item() works for one element only."""

    def __init__(self, *values: float) -> None:
        self.values = values
        self.shape = (len(values),) if len(values) != 1 else ()

    def item(self) -> float:
        if len(self.values) != 1:
            raise RuntimeError("a Tensor with 2 elements cannot be converted to Scalar")
        return self.values[0]


class HasFloat:
    def __float__(self) -> float:
        return 2.5


def test_values(home: Path) -> None:
    run = runlog.init(dir=str(home))
    run.log({"f": 1.5, "i": 3, "b": True, "t": FakeTensor(0.25), "h": HasFloat(), "big": 2**60,
             "nan": math.nan, "inf": -math.inf})
    # (A str is a text value now: test_media.)
    for bad, what in (([1.0, 2.0], "list"), (None, "None"), (FakeTensor(1.0, 2.0), "shape"),
                      ({1, 2}, "set"), (1 + 2j, "complex")):
        with pytest.raises(TypeError, match="'bad_key'"):
            run.log({"ok": 1.0, "bad_key": bad})
    with pytest.raises(ValueError, match="too large"):
        run.log({"huge": 10**400})
    with pytest.raises(ValueError, match="'i'.*too large"):
        run.log({"f": 1.0, "i": 10**400})  # known keys: the fast path hands over to the checks
    with pytest.raises(TypeError, match="dict"):
        run.log([("a", 1.0)])  # type: ignore[arg-type]
    run.finish()
    log = run_log(run)
    row = {k: v[0][1] for k, v in log.points.items()}
    assert row["f"] == 1.5 and row["i"] == 3.0 and row["b"] == 1.0 and row["t"] == 0.25 and row["h"] == 2.5
    assert row["big"] == float(2**60) and math.isnan(row["nan"]) and row["inf"] == -math.inf
    assert "ok" not in log.points  # a refused call records nothing
    assert len(log.times) == 1


def test_numpy_values(home: Path) -> None:
    np = pytest.importorskip("numpy")
    run = runlog.init(dir=str(home))
    run.log({"f64": np.float64(1.5), "f32": np.float32(0.5), "i64": np.int64(7), "b": np.bool_(True),
             "a0": np.array(2.5), "nan": np.float32("nan")}, step=np.int64(3))
    with pytest.raises(TypeError, match="'arr'.*shape"):
        run.log({"arr": np.zeros(3)})
    run.finish()
    row = {k: v[0] for k, v in run_log(run).points.items()}
    assert row["f64"] == (3, 1.5) and row["i64"] == (3, 7.0) and row["a0"] == (3, 2.5) and row["b"] == (3, 1.0)
    assert math.isnan(row["nan"][1])


def test_keys_and_steps_checked(home: Path) -> None:
    run = runlog.init(dir=str(home))
    with pytest.raises(ValueError, match="256"):
        run.log({"k" * 257: 1.0})
    run.log({"k" * 256: 1.0, "λ val/loss (smoothed)": 2.0})
    with pytest.raises(ValueError, match="control"):
        run.log({"a\nb": 1.0})
    with pytest.raises(ValueError, match="empty"):
        run.log({"": 1.0})
    with pytest.raises(TypeError, match="str"):
        run.log({3: 1.0})
    with pytest.raises(ValueError, match="negative"):
        run.log({"a": 1.0}, step=-1)
    with pytest.raises(TypeError, match="int"):
        run.log({"a": 1.0}, step=1.5)  # type: ignore[arg-type]
    run.finish()
    assert set(run_log(run).points) == {"k" * 256, "λ val/loss (smoothed)"}


def test_config(home: Path) -> None:
    import argparse

    ns = argparse.Namespace(lr=0.1, layers=4)
    run = runlog.init(dir=str(home), config=ns)
    cfg = run.config
    assert cfg.lr == 0.1 and cfg["layers"] == 4 and "lr" in cfg and cfg.get("nope", 7) == 7
    cfg.batch_size = 32
    cfg["opt"] = {"name": "adamw", "betas": (0.9, 0.95)}
    cfg.update({"lr": 0.2, "warmup": 100}, allow_val_change=True)
    cfg.setdefaults({"lr": 9, "seed": 1})
    del cfg.warmup
    assert sorted(cfg.keys()) == ["batch_size", "layers", "lr", "opt", "seed"]
    assert dict(cfg.items())["lr"] == 0.2
    with pytest.raises(AttributeError):
        cfg.missing
    cfg.obj = object()  # not JSON: recorded as its str, never an error
    cfg.nan = math.nan
    run.finish()
    log = run_log(run)
    assert len(log.configs) == 8
    assert log.configs[3]["opt"] == {"name": "adamw", "betas": [0.9, 0.95]}
    last = log.configs[-1]
    assert last["lr"] == 0.2 and "warmup" not in last and last["nan"] == "NaN" and last["obj"].startswith("<object")
    on_disk = json.loads((home / "runs" / run.id / "config.json").read_text())
    assert on_disk == last


def test_summary_define_alert(home: Path) -> None:
    run = runlog.init(dir=str(home))
    run.log({"val_acc": 0.5})
    run.summary["best_val_acc"] = 0.9
    run.summary.update({"note": "ok", "inf": math.inf})
    del run.summary["note"]
    assert dict(run.summary) == {"best_val_acc": 0.9, "inf": math.inf}
    run.define_metric("val_acc", goal="maximize")
    run.define_metric("val_loss", summary="min")
    run.define_metric("train/step")  # wandb: an x-axis, no goal: nothing to record
    run.define_metric("val/*", step_metric="train/step", goal="minimize")  # globs are ignored
    with pytest.raises(ValueError, match="goal"):
        run.define_metric("x", goal="up")
    run.alert("loss is NaN", "at step 0", level=runlog.AlertLevel.ERROR)
    run.alert("t" * 300, "x" * (70 << 10), level="WARN")
    with pytest.raises(ValueError, match="level"):
        run.alert("x", "y", level="loud")
    run.finish()
    log = run_log(run)
    assert log.summaries == [{"best_val_acc": 0.9}, {"note": "ok", "inf": "Infinity"}, {"note": None}]
    assert log.defines == [{"key": "val_acc", "goal": "maximize"}, {"key": "val_loss", "goal": "minimize"}]
    ev = log.events[0]
    assert ev["kind"] == "alert" and ev["level"] == "error" and ev["step"] == 0 and ev["title"] == "loss is NaN"
    assert len(log.events[1]["title"].encode()) <= 256 and len(log.events[1]["text"].encode()) <= 64 << 10


def test_log_artifact(home: Path, tmp_path: Path) -> None:
    run = runlog.init(dir=str(home))
    run.log({"val_loss": 2.5}, step=100)
    outside = tmp_path / "model.pt"
    outside.write_bytes(b"weights" * 1000)
    assert run.log_artifact(outside, metadata={"val_loss": 2.5}) == "checkpoints/model.pt"
    assert run.log_artifact(str(outside), step=200) == "checkpoints/model-1.pt"
    outside.write_bytes(b"overwritten")  # the run keeps its copy
    inside = Path(run.dir) / "plots" / "loss.png"
    inside.parent.mkdir()
    inside.write_bytes(b"png")
    assert run.log_artifact(inside, kind="plot") == "plots/loss.png"
    assert run.log_artifact(outside, type="model") == "artifacts/model.pt"
    with pytest.raises(ValueError, match="kind"):
        run.log_artifact(outside, kind="weights")
    assert run.log_artifact(tmp_path / "missing.pt") is None  # a warning, never an exception
    run.finish()
    arts = run_log(run).artifacts
    assert [a["path"] for a in arts] == ["checkpoints/model.pt", "checkpoints/model-1.pt", "plots/loss.png",
                                         "artifacts/model.pt"]
    a = arts[0]
    assert a["kind"] == "checkpoint" and a["step"] == 100 and a["size"] == 7000 and a["metadata"] == {"val_loss": 2.5}
    import hashlib

    assert a["sha256"] == hashlib.sha256(b"weights" * 1000).hexdigest()
    assert arts[1]["step"] == 200 and arts[3]["kind"] == "model"
    assert (Path(run.dir) / "checkpoints" / "model.pt").read_bytes() == b"weights" * 1000


def test_rewind_and_resume(home: Path) -> None:
    run = runlog.init(dir=str(home), id="resumable", config={"lr": 1})
    for i in range(5):
        run.log({"loss": 5.0 - i})
    run.rewind(2)
    assert run.step == 3
    run.log({"loss": 2.75})
    run.finish(1)
    path = home / "runs" / "resumable" / "run.log"
    with open(path, "ab") as f:
        f.write(b"\x20\x00\x00\x00torn")  # a record cut short by a crash
    with pytest.raises(FileExistsError, match="resume"):
        runlog.init(dir=str(home), id="resumable")
    run2 = runlog.init(dir=str(home), id="resumable", resume=True, config={"bs": 8})
    assert run2.step == 4 and run2.config.as_dict() == {"lr": 1, "bs": 8}
    run2.log({"loss": 2.0, "acc": 0.5})
    run2.finish()
    log = read_log(path)
    assert log.torn == 0 and log.skipped == 0  # the torn tail was cut off
    assert log.types.count("header") == 1 and len(log.resumes) == 1
    assert log.rewinds == [{"time": log.rewinds[0]["time"], "step": 2}]
    assert log.points["loss"] == [(0, 5.0), (1, 4.0), (2, 3.0), (3, 2.0), (4, 1.0), (3, 2.75), (4, 2.0)]
    assert log.points["acc"] == [(4, 0.5)]
    assert [s["status"] for s in log.statuses] == ["failed", "finished"]
    assert log.configs[-1] == {"lr": 1, "bs": 8}
    with pytest.raises(FileNotFoundError):
        runlog.init(dir=str(home), id="nope", resume="must")


def test_init_arguments(home: Path, capfd: pytest.CaptureFixture) -> None:
    run = runlog.init(dir=str(home), entity="me", job_type="train", reinit=True, settings=runlog.Settings(x=1),
                      save_code=True)
    err = capfd.readouterr().err
    assert err.count("runlog:") == 1 and "entity" in err and "job_type" in err
    run2 = runlog.init(dir=str(home), entity="me")  # a second init finishes the first run
    assert capfd.readouterr().err == ""
    assert run._done and runlog.run is run2
    with pytest.raises(TypeError, match="projet"):
        runlog.init(dir=str(home), projet="typo")
    with pytest.raises(ValueError, match="name"):
        runlog.init(dir=str(home), name="x" * 300)
    with pytest.raises(ValueError, match="run id"):
        runlog.init(dir=str(home), id="../escape")
    disabled = runlog.init(dir=str(home), mode="disabled", config={"a": 1})
    disabled.log({"x": 1.0})
    assert disabled.disabled and disabled.config.a == 1
    disabled.finish()
    runlog.finish()
    assert len(list((home / "runs").iterdir())) == 2


def test_home_from_environment(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNLOG_HOME", str(home))
    run = runlog.init()
    run.finish()
    assert Path(run.dir).parent == home / "runs"


def test_context_manager(home: Path) -> None:
    with runlog.init(dir=str(home)) as run:
        run.log({"a": 1.0})
    assert run_log(run).status["status"] == "finished"
    with pytest.raises(ZeroDivisionError):
        with runlog.init(dir=str(home)) as run2:
            run2.log({"a": 1.0})
            1 / 0
    st = run_log(run2).status
    assert st["status"] == "failed" and st["exit_code"] == 1 and "ZeroDivisionError" in st["error"]


def test_finish_exit_codes(home: Path) -> None:
    want = {0: "finished", 1: "failed", 2: "failed", 129: "killed", 130: "killed", 137: "killed", 143: "killed"}
    for code, status in want.items():
        run = runlog.init(dir=str(home))
        run.finish(exit_code=code)
        run.finish(exit_code=5)  # later calls do nothing
        assert [s["status"] for s in run_log(run).statuses] == [status]


def test_log_after_finish_warns_once(home: Path, capfd: pytest.CaptureFixture) -> None:
    run = runlog.init(dir=str(home))
    run.finish()
    capfd.readouterr()
    run.log({"a": 1.0})
    run.log({"a": 1.0})
    run.summary["x"] = 1
    assert capfd.readouterr().err.count("runlog:") == 1
    with pytest.raises(RuntimeError, match="init"):
        runlog.log({"a": 1.0})


def test_writes_every_second_and_heartbeats(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_writer, "HEARTBEAT_INTERVAL", 0.3)
    run = runlog.init(dir=str(home))
    run.log({"a": 1.0})
    time.sleep(1.4)  # no finish: the writer wrote on its own
    log = run_log(run)
    assert log.points["a"] == [(0, 1.0)] and log.heartbeats >= 1
    run.finish()


def test_large_buffer_is_written_early(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_writer, "FLUSH_BYTES", 4096)
    monkeypatch.setattr(_writer, "FLUSH_INTERVAL", 30)
    run = runlog.init(dir=str(home))
    for i in range(200):  # ~14 KB of records
        run.log({"a": float(i)})
    deadline = time.time() + 5
    while time.time() < deadline and len(run_log(run).points.get("a", [])) < 100:
        time.sleep(0.02)
    assert len(run_log(run).points["a"]) >= 100
    run.finish()


def test_module_level_functions(home: Path, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError):
        runlog.define_metric("x", goal="minimize")
    runlog.config.placeholder = 1  # before init, as in wandb: kept in memory only
    runlog.init(dir=str(home))
    runlog.define_metric("val_loss", goal="minimize")
    runlog.alert("t", "x")
    runlog.log({"val_loss": 1.0})
    f = tmp_path / "c.pt"
    f.write_bytes(b"x")
    assert runlog.log_artifact(str(f)) == "checkpoints/c.pt"
    runlog.summary["s"] = 1
    runlog.rewind(0)
    run = runlog.run
    runlog.watch(object())
    runlog.finish()
    log = run_log(run)
    assert log.defines and log.events and log.artifacts and log.summaries == [{"s": 1}] and log.rewinds


def test_records_are_flushed_in_order_across_kinds(home: Path) -> None:
    """Keys come before the metrics that use them, whatever mix of calls."""
    run = runlog.init(dir=str(home))
    for i in range(50):
        run.log({f"k{i % 7}": float(i), "common": 1.0})
        if i % 10 == 0:
            run.summary[f"s{i}"] = i
            run.config[f"c{i}"] = i
    run.finish()
    log = run_log(run)  # read_log asserts seq order and key definitions
    assert sum(len(v) for v in log.points.values()) == 100
    _hooks.end_all("finished", 0)


def test_git_info(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil
    import subprocess

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    repo.mkdir()
    git = lambda *a: subprocess.run(["git", "-C", str(repo), *a], check=True, capture_output=True)  # noqa: E731
    git("init", "-q", "-b", "main")
    git("-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "--allow-empty", "-m", "x")
    git("remote", "add", "origin", "https://user:token@example.com/org/repo.git")
    (repo / "f").write_text("x")
    git("add", "f")
    monkeypatch.chdir(repo)
    monkeypatch.setenv("RUNLOG_GIT", "1")
    run = runlog.init(dir=str(home))
    run.finish()
    g = run_log(run).header["git"]
    assert len(g["commit"]) == 40 and g["branch"] == "main" and g["dirty"] is True
    assert g["remote"] == "https://example.com/org/repo.git"  # no credentials
