"""Shared helpers: reading a run folder back, running scripts in a child
Python, keeping tests from leaking runs, environment or settings."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

import runlog
from runlog import _format, _hooks, _writer

PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # clients/python
REPO_ROOT = PACKAGE_ROOT.parents[1]
FIXTURES = REPO_ROOT / "internal" / "runfmt" / "testdata"

_ENV_VARS = (
    "RUNLOG_HOME",
    "RUNLOG_URL",
    "RUNLOG_TOKEN",
    "RUNLOG_UPLOAD",
    "RUNLOG_RUN_ID",
    "RUNLOG_CONFIG",
    "RUNLOG_ALL_RANKS",
    "RANK",
    "LOCAL_RANK",
    "WORLD_SIZE",
    "MASTER_ADDR",
    "MASTER_PORT",
    "TORCHELASTIC_RUN_ID",
    "SLURM_JOB_ID",
    "SLURM_STEP_ID",
)


@pytest.fixture(autouse=True)
def _isolate(monkeypatch: pytest.MonkeyPatch):
    """No runlog or launcher variables from outside; no git look-ups (fast);
    every run a test leaves open is finished after it."""
    for v in _ENV_VARS:
        monkeypatch.delenv(v, raising=False)
    monkeypatch.setenv("RUNLOG_GIT", "0")
    yield
    _hooks.end_all("finished", 0)
    _hooks.current = None


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch):
    """A writer that writes every 50 ms."""
    monkeypatch.setattr(_writer, "FLUSH_INTERVAL", 0.05)


@dataclass
class RunLog:
    """A run.log decoded for assertions."""

    records: List[_format.Record]
    points: Dict[str, List[Tuple[int, float]]] = field(default_factory=dict)  # key -> (step, value) in order
    times: List[float] = field(default_factory=list)  # metrics record times
    header: Dict[str, Any] = field(default_factory=dict)
    configs: List[Dict[str, Any]] = field(default_factory=list)
    summaries: List[Dict[str, Any]] = field(default_factory=list)
    statuses: List[Dict[str, Any]] = field(default_factory=list)
    events: List[Dict[str, Any]] = field(default_factory=list)
    artifacts: List[Dict[str, Any]] = field(default_factory=list)
    defines: List[Dict[str, Any]] = field(default_factory=list)
    rewinds: List[Dict[str, Any]] = field(default_factory=list)
    resumes: List[Dict[str, Any]] = field(default_factory=list)
    heartbeats: int = 0
    torn: int = 0
    skipped: int = 0

    @property
    def types(self) -> List[str]:
        return [r.type_name for r in self.records]

    @property
    def status(self) -> Optional[Dict[str, Any]]:
        return self.statuses[-1] if self.statuses else None

    def values(self, key: str) -> List[float]:
        return [v for _, v in self.points.get(key, [])]


def read_log(path: Any) -> RunLog:
    """Decode a run.log, checking what every reader checks: the magic,
    checksums, seqs growing by one, keys defined before use."""
    data = Path(path).read_bytes()
    res = _format.read_records(data)
    log = RunLog(res.records, torn=res.torn, skipped=len(res.skipped))
    keys: Dict[int, str] = {}
    for i, rec in enumerate(res.records):
        assert rec.seq == i + 1, f"record {i} has seq {rec.seq}"
        t = rec.type
        if t == _format.KEY:
            kid, name = rec.key()
            assert kid not in keys, f"key id {kid} defined twice"
            assert kid == len(keys), f"key ids out of order: {kid} after {len(keys)}"
            keys[kid] = name
        elif t == _format.METRICS:
            step, tm, pairs = rec.metrics()
            log.times.append(tm)
            for kid, v in pairs:
                log.points.setdefault(keys[kid], []).append((step, v))
        elif t == _format.HEARTBEAT:
            log.heartbeats += 1
        else:
            obj = rec.json()
            {
                _format.HEADER: lambda o: log.header.update(o),
                _format.CONFIG: log.configs.append,
                _format.SUMMARY: log.summaries.append,
                _format.STATUS: log.statuses.append,
                _format.EVENT: log.events.append,
                _format.ARTIFACT: log.artifacts.append,
                _format.DEFINE: log.defines.append,
                _format.REWIND: log.rewinds.append,
                _format.RESUME: log.resumes.append,
            }.get(t, lambda o: None)(obj)  # texts, histograms, media: test_media reads them
    return log


def run_log(run: runlog.Run) -> RunLog:
    return read_log(os.path.join(run.dir, "run.log"))


def only_run_folder(home: Path) -> Path:
    folders = list((home / "runs").iterdir())
    assert len(folders) == 1, folders
    return folders[0]


def child_env(**extra: str) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _ENV_VARS}
    # The child imports the same runlog as the tests (installed or not).
    env["PYTHONPATH"] = str(Path(runlog.__file__).resolve().parents[1]) + os.pathsep + env.get("PYTHONPATH", "")
    env["RUNLOG_GIT"] = "0"
    env.update(extra)
    return env


def start_script(code: str, **env: str) -> subprocess.Popen:
    """Start a child Python running code (dedented)."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=child_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_script(code: str, timeout: float = 30, **env: str) -> subprocess.CompletedProcess:
    """Run code in a child Python and return its result."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=child_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def jsonl(name: str) -> List[Dict[str, Any]]:
    return [json.loads(line) for line in (FIXTURES / f"{name}.jsonl").read_text().splitlines() if line.strip()]


@pytest.fixture(scope="session")
def runlog_bin(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The Go `runlog`: $RUNLOG_BIN, else built from the repository (the
    tests that need it are skipped without Go)."""
    explicit = os.environ.get("RUNLOG_BIN")
    if explicit:
        return explicit
    if not (REPO_ROOT / "go.mod").exists() or not (REPO_ROOT / "cmd" / "runlog").is_dir():
        pytest.skip(f"the Go sources are not at {REPO_ROOT}: set RUNLOG_BIN to a runlog binary")
    if shutil.which("go") is None:
        pytest.skip("go is not installed: the Go interop tests need it (or RUNLOG_BIN set to a runlog binary)")
    out = tmp_path_factory.mktemp("bin") / "runlog"
    # CGO_ENABLED=0 as scripts/test.sh builds, so that the build cache it left is used.
    res = subprocess.run(["go", "build", "-o", str(out), "./cmd/runlog"], cwd=REPO_ROOT, capture_output=True,
                         text=True, timeout=600, env=dict(os.environ, CGO_ENABLED="0"))
    if res.returncode != 0:
        pytest.fail(f"go build ./cmd/runlog failed:\n{res.stderr}")
    return str(out)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A `runlog ui` in a child process, on a home and a port that stay the
    same across restarts."""

    def __init__(self, binary: str, home: Path, token: str = "") -> None:
        self.binary, self.home, self.token = binary, home, token
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: Optional[subprocess.Popen] = None
        self._out = home.parent / f"{home.name}-server.log"

    def start(self) -> "Server":
        args = [self.binary, "--home", str(self.home), "ui", "--addr", f"127.0.0.1:{self.port}"]
        if self.token:
            args += ["--token", self.token]
        env = {k: v for k, v in os.environ.items() if k not in _ENV_VARS}
        with open(self._out, "ab") as out:
            self.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"runlog ui did not start: {self.output()}")
                time.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None

    def output(self) -> str:
        try:
            return self._out.read_text(errors="replace")
        except OSError:
            return ""

    def log_path(self, run_id: str, stream: str = "run.log") -> Path:
        return self.home / "runs" / run_id / stream

    def size(self, run_id: str, stream: str = "run.log") -> int:
        try:
            return self.log_path(run_id, stream).stat().st_size
        except OSError:
            return 0


@pytest.fixture
def servers(runlog_bin: str, tmp_path: Path):
    """Makes Servers (not started) on fresh homes; stops them after the test."""
    made: List[Server] = []

    def make(token: str = "") -> Server:
        s = Server(runlog_bin, tmp_path / f"server{len(made)}", token)
        made.append(s)
        return s

    yield make
    for s in made:
        s.stop()
