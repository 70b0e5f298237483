"""Never in the way of training: a full or read-only disk, a deleted run
folder, values that cannot be encoded — one warning, no exception, data
kept up to a bound and the loss reported at finish."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

import runlog
from runlog import _hooks, _writer
from conftest import read_log, run_log, run_script


def wait_for(cond, timeout: float = 5.0) -> None:
    deadline = time.time() + timeout
    while not cond():
        assert time.time() < deadline, "timed out"
        time.sleep(0.02)


def test_full_disk_then_space_again(home: Path, fast, capfd: pytest.CaptureFixture) -> None:
    """/dev/full under a live run: ENOSPC on every write. Records wait in
    memory, one warning is printed, and once the disk takes writes again
    nothing is missing."""
    run = runlog.init(dir=str(home))
    run.log({"loss": 0.0})
    wait_for(lambda: "loss" in run_log(run).points)
    real = run._writer._replace_fd(os.open("/dev/full", os.O_WRONLY))
    for i in range(1, 500):
        run.log({"loss": float(i)})
        if i % 100 == 0:
            time.sleep(0.12)  # a few failing write attempts
    err = capfd.readouterr().err
    assert err.count("runlog:") == 1 and "No space left on device" in err and "training continues" in err
    assert len(run_log(run).points["loss"]) == 1
    os.close(run._writer._replace_fd(real))
    wait_for(lambda: len(run_log(run).points["loss"]) == 500)
    run.finish()
    log = run_log(run)
    assert log.values("loss") == [float(i) for i in range(500)] and log.status["status"] == "finished"
    assert log.torn == 0 and log.skipped == 0
    assert capfd.readouterr().err == ""  # nothing was lost: nothing to report


def test_read_only_file(home: Path, fast, capfd: pytest.CaptureFixture) -> None:
    """A file that cannot be written at all (as on a disk remounted
    read-only): training goes on; finish reports what was not written."""
    run = runlog.init(dir=str(home))
    run._writer._replace_fd(os.open(os.devnull, os.O_RDONLY))
    for i in range(100):
        run.log({"loss": float(i)})
    time.sleep(0.2)
    run.finish()
    err = capfd.readouterr().err
    assert err.count("cannot write") == 1
    assert "bytes of records could not be written" in err


def test_buffer_bound_drops_and_reports(home: Path, fast, monkeypatch, capfd: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(_writer, "MAX_BUFFER", 20_000)
    run = runlog.init(dir=str(home))
    os.close(run._writer._replace_fd(os.open("/dev/full", os.O_WRONLY)))
    for i in range(2000):  # ~90 KB of records
        run.log({"loss": float(i), "lr": 0.1})
    assert run.step == 2000  # steps go on even for dropped values
    run.finish()
    err = capfd.readouterr().err
    dropped = int(err.split("run ")[-1].split(": ")[1].split(" metric values")[0])
    assert 2000 < dropped < 4000 and "waited for the disk" in err and "could not be written" in err


def test_deleted_run_folder(home: Path, fast, capfd: pytest.CaptureFixture) -> None:
    run = runlog.init(dir=str(home), config={"a": 1})
    run.log({"loss": 1.0})
    wait_for(lambda: "loss" in run_log(run).points)
    shutil.rmtree(run.dir)
    for i in range(100):
        run.log({"loss": float(i)})
    run.config.b = 2  # config.json cannot be written either
    time.sleep(0.2)
    run.log({"loss": 1.0})
    run.finish()
    err = capfd.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 2, err  # the warning, then finish's report
    assert "run.log was deleted; runlog stops writing this run" in lines[0]
    assert "bytes of records could not be written (its log was deleted)" in lines[1]
    assert not os.path.exists(run.dir)


def test_unencodable_values_in_buffered_records(home: Path, fast, capfd: pytest.CaptureFixture) -> None:
    """Config, summary and metadata values JSON cannot hold are recorded as
    text; oversize ones are refused with a warning; nothing raises."""

    class Weird:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

        def __str__(self) -> str:
            raise RuntimeError("no str")

    run = runlog.init(dir=str(home), config={"path": Path("/x"), "fn": len, "weird": Weird()})
    run.summary["tensor_like"] = Weird()
    run.summary["big"] = "x" * (2 << 20)  # over the 1 MiB summary limit
    run.config.huge = "y" * (5 << 20)  # over the 4 MiB config limit
    run.log({"ok": 1.0})
    run.finish()
    log = run_log(run)
    assert log.configs[0]["path"] == "/x" and log.configs[0]["weird"].endswith("Weird>")
    assert log.summaries[0]["tensor_like"].endswith("Weird>") and len(log.summaries) == 1
    assert len(log.configs) == 1
    err = capfd.readouterr().err
    assert "summary update" in err and "config of" in err
    assert log.status["status"] == "finished"


def test_file_size_limit_in_a_child(home: Path) -> None:
    """A real write failure: RLIMIT_FSIZE makes write() fail with EFBIG.
    The child logs on, finishes and exits 0; the records written before the
    limit are readable."""
    res = run_script(
        f"""
        import os, resource, signal, time
        import runlog
        from runlog import _hooks, _writer
        _writer.FLUSH_INTERVAL = 0.05
        _writer.MAX_BUFFER = 100_000
        run = runlog.init(dir={str(home)!r}, id="limited")
        run.log({{"loss": 0.0}})
        time.sleep(0.2)
        size = os.path.getsize(os.path.join(run.dir, "run.log"))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size + 3000, resource.RLIM_INFINITY))
        for i in range(1, 5000):
            run.log({{"loss": float(i)}})
            if i % 1000 == 0:
                time.sleep(0.1)
        run.finish()
        print("done")
        """
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "done"
    assert res.stderr.count("cannot write") == 1 and "File too large" in res.stderr
    assert "metric values were dropped" in res.stderr
    log = read_log(home / "runs" / "limited" / "run.log")
    assert 50 < len(log.values("loss")) < 1000
    assert log.values("loss") == [float(i) for i in range(len(log.values("loss")))]
    assert log.skipped == 0


@pytest.fixture
def tiny_fs(tmp_path: Path):
    """A 256 KiB tmpfs (needs root, as here and in CI; skipped otherwise)."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)], capture_output=True,
                         text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.strip() or res.returncode}")
    try:
        yield mnt
    finally:
        _hooks.end_all("finished", 0)
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def fill(path: Path) -> None:
    """Write path until the file system is full."""
    with open(path, "wb", buffering=0) as f:
        chunk = b"x" * 4096
        while True:
            try:
                f.write(chunk)
            except OSError:
                if len(chunk) == 1:
                    return
                chunk = chunk[: len(chunk) // 2]


def test_really_full_disk(tiny_fs: Path, fast, capfd: pytest.CaptureFixture) -> None:
    """A file system that is really full (ENOSPC, partial writes): records
    wait, one warning; once space is freed, nothing is missing."""
    run = runlog.init(dir=str(tiny_fs / "home"))
    run.log({"loss": 0.0})
    wait_for(lambda: "loss" in run_log(run).points)
    fill(tiny_fs / "filler")
    for i in range(1, 3000):  # ~135 KB of records: more than the free space
        run.log({"loss": float(i)})
    time.sleep(0.3)
    err = capfd.readouterr().err
    assert err.count("runlog:") == 1 and "No space left on device" in err
    os.remove(tiny_fs / "filler")
    wait_for(lambda: len(run_log(run).points.get("loss", [])) == 3000)
    run.finish()
    log = run_log(run)
    assert log.values("loss") == [float(i) for i in range(3000)] and log.torn == 0 and log.skipped == 0
    assert log.status["status"] == "finished" and capfd.readouterr().err == ""


def test_read_only_home_fails_at_init(tiny_fs: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_fs)], check=True)
    with pytest.raises(OSError, match="Read-only"):
        runlog.init(dir=str(tiny_fs / "home"))
