"""restore_checkpoint: which checkpoint a resumed run continues from."""

import os
import time
from pathlib import Path

import pytest

import runlog


def save(run: runlog.Run, name: str, step: int, val_loss: float) -> str:
    path = os.path.join(run.dir, "checkpoints", name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(b"weights")
    run.log_artifact(path, kind="checkpoint", step=step, metadata={"val_loss": val_loss})
    return path


def test_latest_and_best(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUNLOG_CHECKPOINT", raising=False)
    run = runlog.init(dir=str(tmp_path), id="r1", resume="allow")
    assert run.restore_checkpoint() is None  # nothing saved yet
    save(run, "a.pt", 100, 2.0)
    best = save(run, "b.pt", 200, 1.5)
    abandoned = save(run, "c.pt", 300, 1.0)
    run.finish(1)  # crashed after step 300, say

    time.sleep(0.01)
    run = runlog.init(dir=str(tmp_path), id="r1", resume="must")
    run.rewind(200)  # restarted from b.pt: c.pt belongs to the abandoned attempt
    latest = save(run, "d.pt", 250, 1.8)
    run.finish()
    assert abandoned  # never chosen, though its val_loss was the lowest
    run = runlog.init(dir=str(tmp_path), id="r1", resume="must")
    assert run.restore_checkpoint() == latest
    assert run.restore_checkpoint("best") == best
    assert runlog.restore_checkpoint("best") == best
    os.remove(latest)
    assert run.restore_checkpoint() == best  # a deleted file is not chosen
    with pytest.raises(ValueError):
        run.restore_checkpoint("oldest")
    run.finish()


def test_runner_choice_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chosen = tmp_path / "given.pt"
    chosen.write_bytes(b"w")
    monkeypatch.setenv("RUNLOG_CHECKPOINT", str(chosen))
    assert runlog.restore_checkpoint() == str(chosen)
