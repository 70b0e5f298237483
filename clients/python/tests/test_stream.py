"""Streaming runs to a server (docs/server.md, "Streaming runs to a
server"): against the real Go `runlog ui`, started as a child process on a
temporary home, and killed, restarted or given a token as the tests need.

The server's copy of a log must equal the local one byte for byte (which
rules out duplicates and gaps), and `runlog show --json` on the server's
home must count every point.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict

import pytest

import runlog
from runlog import _stream, _writer
from conftest import Server, child_env, free_port, read_log, run_script


@pytest.fixture
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    """A writer that writes every 50 ms, a streamer that sends every 100 ms
    and retries from 0.1 s on (the real figures: 1 s, 1 s, 0.5 s)."""
    monkeypatch.setattr(_writer, "FLUSH_INTERVAL", 0.05)
    monkeypatch.setattr(_stream, "STREAM_EVERY", 0.1)
    monkeypatch.setattr(_stream, "MIN_BACKOFF", 0.1)
    monkeypatch.setattr(_stream, "MAX_BACKOFF", 1.0)


def show(binary: str, home: Path, run_id: str) -> Dict[str, Any]:
    res = subprocess.run([binary, "--home", str(home), "show", "--json", run_id], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def same_log(home: Path, server: Server, run_id: str, stream: str = "run.log") -> bytes:
    local = (home / "runs" / run_id / stream).read_bytes()
    remote = server.log_path(run_id, stream).read_bytes()
    assert len(remote) == len(local) and remote == local, \
        f"the server's {stream} has {len(remote)} bytes, the local one {len(local)}"
    return local


def wait_for(cond: Callable[[], bool], timeout: float, what: str, between: Callable[[], None] = lambda: None) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        between()
        time.sleep(0.02)


class Steps:
    """Logs train_loss at consecutive steps."""

    def __init__(self, run: runlog.Run) -> None:
        self.run, self.n = run, 0

    def log(self, count: int, pause_every: int = 100, pause: float = 0.001) -> None:
        for _ in range(count):
            self.run.log({"train_loss": 1.0 / (self.n + 1), "lr": 1e-3})
            self.n += 1
            if pause and self.n % pause_every == 0:
                time.sleep(pause)


def stream_lines(err: str) -> list:
    return [line for line in err.splitlines() if line.startswith("runlog:")]


def test_streamed_while_logging_arrives_complete(runlog_bin: str, servers, home: Path, quick) -> None:
    server = servers().start()
    run = runlog.init(dir=str(home), name="streamed", config={"lr": 3e-4}, url=server.url)
    run.define_metric("val_loss", goal="minimize")
    steps = Steps(run)
    steps.log(1000)
    # The server has the run before it ends.
    wait_for(lambda: server.size(run.id) > 20000, 5, "the first batches", lambda: steps.log(10))
    ckpt = Path(run.dir) / "ckpt.pt"
    ckpt.write_bytes(b"weights")
    run.log({"val_loss": 0.5}, step=steps.n - 1)
    run.log_artifact(ckpt, metadata={"val_loss": 0.5})
    run.summary["note"] = "streamed"
    steps.log(2000 - steps.n % 1000)
    total = steps.n
    run.finish()
    data = same_log(home, server, run.id)
    assert read_log(server.log_path(run.id)).status["status"] == "finished" and len(data) > 50000

    remote, local = show(runlog_bin, server.home, run.id), show(runlog_bin, home, run.id)
    assert remote["metrics"]["train_loss"]["count"] == total == local["metrics"]["train_loss"]["count"]
    assert remote["status"] == "finished" and remote["summary"]["note"] == "streamed"
    assert remote["metrics"] == local["metrics"] and remote["config"] == {"lr": 3e-4}
    assert remote["best_checkpoint"]["path"] == "ckpt.pt"


def test_server_killed_mid_run_and_restarted(runlog_bin: str, servers, home: Path, quick, capsys) -> None:
    server = servers().start()
    run = runlog.init(dir=str(home), name="outage", url=server.url)
    steps = Steps(run)
    # Enough that batches are large and frequent when the kill comes.
    wait_for(lambda: server.size(run.id) > 200_000, 10, "the first batches", lambda: steps.log(2000, 500))
    server.kill()
    before = steps.n
    steps.log(5000)
    time.sleep(0.2)  # the writer wrote everything: the local log is complete while the server is down
    local = read_log(Path(run.dir) / "run.log")
    assert len(local.points["train_loss"]) == steps.n and local.torn == 0
    assert steps.n > before

    server.start()
    steps.log(5000)
    total = steps.n
    local_size = lambda: (Path(run.dir) / "run.log").stat().st_size  # noqa: E731
    # It catches up in the background, before finish().
    wait_for(lambda: server.size(run.id) == local_size(), 10, "the catch-up", lambda: time.sleep(0.05))
    run.finish()
    same_log(home, server, run.id)
    remote = show(runlog_bin, server.home, run.id)
    assert remote["metrics"]["train_loss"]["count"] == total == remote["total_steps"]
    assert remote["metrics"]["train_loss"]["final_step"] == total - 1
    assert remote["status"] == "finished"
    lines = stream_lines(capsys.readouterr().err)
    assert len([x for x in lines if "cannot send" in x]) == 1, lines  # one warning for the outage
    assert any("answers again" in x for x in lines), lines


def test_server_down_at_start(runlog_bin: str, servers, home: Path, quick, capsys) -> None:
    server = servers()  # not started: nothing listens on its port
    run = runlog.init(dir=str(home), name="early", url=server.url)
    steps = Steps(run)
    steps.log(3000, 100, 0.02)  # ~0.6 s: several retries
    time.sleep(0.15)
    assert len(read_log(Path(run.dir) / "run.log").points["train_loss"]) == 3000
    lines = stream_lines(capsys.readouterr().err)
    assert len(lines) == 1 and "cannot send" in lines[0] and "logging continues locally" in lines[0], lines

    server.start()
    steps.log(2000)
    wait_for(lambda: server.size(run.id) == (Path(run.dir) / "run.log").stat().st_size, 10, "the catch-up",
             lambda: time.sleep(0.05))
    run.finish()
    same_log(home, server, run.id)
    assert show(runlog_bin, server.home, run.id)["metrics"]["train_loss"]["count"] == 5000


def test_wrong_token_warns_once(servers, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = servers(token="s3cret-token").start()
    res = run_script(
        f"""
        import time, runlog
        from runlog import _stream, _writer
        _writer.FLUSH_INTERVAL = _stream.STREAM_EVERY = 0.05
        _stream.MAX_BACKOFF = 0.1  # retried often: still one warning
        run = runlog.init(dir={str(home)!r}, id="tok", name="tok")
        for i in range(3000):
            run.log({{"train_loss": float(i)}})
            if i % 100 == 0:
                time.sleep(0.02)
        t = time.monotonic()
        run.finish()
        print(time.monotonic() - t)
        """,
        RUNLOG_URL=server.url, RUNLOG_TOKEN="wrong",
    )
    assert res.returncode == 0, res.stderr
    lines = stream_lines(res.stderr)
    assert len(lines) == 1, res.stderr
    assert "401" in lines[0] and "token" in lines[0] and "RUNLOG_TOKEN" in lines[0] and "runlog sync tok" in lines[0]
    assert float(res.stdout) < 1.0  # finish() does not wait for a refusal to mend
    assert len(read_log(home / "runs" / "tok" / "run.log").points["train_loss"]) == 3000
    assert not server.log_path("tok").exists()

    # The right token (init(token=...) beats $RUNLOG_TOKEN): everything arrives.
    monkeypatch.setenv("RUNLOG_TOKEN", "wrong")
    run = runlog.init(dir=str(home), id="tok", resume="must", url=server.url, token="s3cret-token")
    run.log({"train_loss": -1.0})
    run.finish()
    same_log(home, server, "tok")


def test_finish_waits_a_bounded_time(home: Path, capsys) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nobody listens
    run = runlog.init(dir=str(home), name="alone", url=url, stream_timeout=0.5)
    for i in range(100):
        run.log({"train_loss": float(i)})
    t = time.monotonic()
    run.finish()
    assert 0.4 < time.monotonic() - t < 2.0
    lines = stream_lines(capsys.readouterr().err)
    assert len(lines) == 2, lines
    assert "cannot send" in lines[0]
    assert "has 0 of the" in lines[1] and f"`runlog sync {run.id}` sends the rest" in lines[1]
    assert len(read_log(Path(run.dir) / "run.log").points["train_loss"]) == 100


def test_finish_bounded_with_a_server_that_never_answers(home: Path, quick, capsys) -> None:
    """A server that accepts connections and says nothing (hung): requests
    are pending when the run ends; finish() still returns in time."""
    ln = socket.socket()
    ln.bind(("127.0.0.1", 0))
    ln.listen(16)
    try:
        run = runlog.init(dir=str(home), name="hung", url=f"http://127.0.0.1:{ln.getsockname()[1]}",
                          stream_timeout=0.5)
        for i in range(100):
            run.log({"train_loss": float(i)})
        time.sleep(0.3)  # a request is waiting for its answer
        t = time.monotonic()
        run.finish()
        assert time.monotonic() - t < 1.5
    finally:
        ln.close()
    lines = stream_lines(capsys.readouterr().err)
    assert len(lines) == 1 and "`runlog sync" in lines[0], lines
    assert len(read_log(Path(run.dir) / "run.log").points["train_loss"]) == 100


def test_server_lost_the_run(servers, home: Path, quick) -> None:
    """The server's copy disappears (a new disk): it answers 409 with size
    0, and the client sends the whole log again."""
    server = servers().start()
    run = runlog.init(dir=str(home), name="lost", url=server.url)
    steps = Steps(run)
    wait_for(lambda: server.size(run.id) > 10000, 5, "the first batches", lambda: steps.log(200))
    shutil.rmtree(server.home / "runs" / run.id)
    steps.log(1000)
    run.finish()
    same_log(home, server, run.id)


def test_resumed_and_small_batches(servers, home: Path, quick, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run logged without a server, resumed with one, sends it all; the
    next resume sends only the rest. Batches of at most 4 KiB are cut at
    record boundaries, and a record larger than that goes alone."""
    monkeypatch.setattr(_stream, "MAX_BATCH", 4096)
    server = servers().start()
    run = runlog.init(dir=str(home), id="res", config={"blob": "x" * 10000})
    Steps(run).log(500, pause=0)
    run.finish(137)
    run = runlog.init(dir=str(home), id="res", resume="must", url=server.url)
    Steps(run).log(500, pause=0)
    run.config["more"] = "y" * 9000
    run.finish()
    same_log(home, server, "res")
    run = runlog.init(dir=str(home), id="res", resume="must", url=server.url)
    run.log({"train_loss": 0.0})
    run.finish()
    same_log(home, server, "res")


def test_runlog_run_streams_the_attached_log(runlog_bin: str, servers, home: Path, tmp_path: Path) -> None:
    """Under `runlog run`, the runner streams run.log and the Python client
    its run.py-<pid>-<n>.log, both with RUNLOG_URL."""
    server = servers().start()
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(
        """
        import runlog
        runlog.init(config={"layers": 4})
        for step in range(2000):
            runlog.log({"train_loss": 3.0 - step * 0.001})
        runlog.finish()
        """
    ))
    res = subprocess.run([runlog_bin, "--home", str(home), "run", "--name", "attached", "--", sys.executable,
                          str(script)], capture_output=True, text=True, timeout=60, cwd=tmp_path,
                         env=child_env(RUNLOG_URL=server.url))
    assert res.returncode == 0, res.stderr
    (folder,) = list((home / "runs").iterdir())
    (attached,) = [p.name for p in folder.glob("run.py-*.log")]
    same_log(home, server, folder.name, attached)
    same_log(home, server, folder.name, "run.log")
    remote = show(runlog_bin, server.home, folder.name)
    assert remote["metrics"]["train_loss"]["count"] == 2000 and remote["config"]["layers"] == 4


def test_forked_children_never_stream(servers, home: Path) -> None:
    server = servers().start()
    res = run_script(
        f"""
        import os, sys, threading, runlog
        from runlog import _writer, _stream
        _writer.FLUSH_INTERVAL = _stream.STREAM_EVERY = 0.05
        run = runlog.init(dir={str(home)!r}, id="forky")
        for i in range(1000):
            run.log({{"train_loss": float(i)}})
        pid = os.fork()
        if pid == 0:  # a DataLoader worker: its log() does nothing, it streams nothing
            ok = run._writer.stream is None and not [t for t in threading.enumerate() if "stream" in t.name]
            runlog.log({{"train_loss": -1.0}})
            sys.exit(0 if ok else 3)  # atexit runs: it must not finish the parent's run
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, status
        for i in range(1000):
            run.log({{"train_loss": float(i)}})
        run.finish()
        """,
        RUNLOG_URL=server.url,
    )
    assert res.returncode == 0, res.stderr
    assert stream_lines(res.stderr) == []  # (Python 3.12+ warns about fork() in a threaded process)
    data = same_log(home, server, "forky")
    log = read_log(server.log_path("forky"))
    assert len(log.points["train_loss"]) == 2000 and len(log.statuses) == 1 and len(data) > 0


def test_threads_log_while_streaming(servers, home: Path, quick) -> None:
    server = servers().start()
    run = runlog.init(dir=str(home), id="threads", url=server.url)

    def work(k: int) -> None:
        for i in range(2000):
            run.log({f"t{k}": float(i)})

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run.finish()
    same_log(home, server, "threads")
    log = read_log(server.log_path("threads"))
    assert all(len(log.points[f"t{k}"]) == 2000 for k in range(4))


def test_no_streaming_without_a_server(home: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """Without RUNLOG_URL nothing about streaming exists: no thread, no
    work in the writer; url="-" and mode="offline" turn it off too; a URL
    that is not one is reported once and not used."""
    def streams(run: runlog.Run) -> bool:
        names = [t.name for t in threading.enumerate()]
        return run._writer.stream is not None or any(n.startswith("runlog-stream") for n in names)

    run = runlog.init(dir=str(home))
    assert not streams(run)
    run.finish()
    monkeypatch.setenv("RUNLOG_URL", f"http://127.0.0.1:{free_port()}")
    for kwargs in ({"url": "-"}, {"mode": "offline"}):
        run = runlog.init(dir=str(home), **kwargs)
        assert not streams(run)
        run.finish()
    run = runlog.init(dir=str(home), url="gpu-box:7707")
    assert not streams(run)
    run.finish()
    lines = stream_lines(capsys.readouterr().err)
    assert len(lines) == 1 and "is not a server URL" in lines[0], lines
