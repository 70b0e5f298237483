"""Which runlog binary goes with this client: ``python -m runlog`` finds and
runs it, and the client warns when a binary of another version runs with it,
by the one rule of internal/version.Compatible."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import runlog
from runlog import _binary, _format

from conftest import REPO_ROOT, child_env, run_script

OTHER = f"{int(runlog.__version__.split('.')[0]) + 1}.0.0"


def test_compatible_is_the_go_rule() -> None:
    cases = json.loads((REPO_ROOT / "internal" / "version" / "testdata" / "compatible.json").read_text())
    assert cases
    for c in cases:
        assert _binary.compatible(c["client"], c["binary"]) == c["compatible"], c


def fake_runlog(folder: Path, version: str) -> Path:
    """A `runlog` on PATH that reports version and echoes its arguments."""
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / "runlog"
    p.write_text(f'#!/bin/sh\nif [ "$1" = --version ]; then echo "runlog {version} (commit abc, built x)"; else echo "args: $*"; fi\n')
    p.chmod(0o755)
    return p


def python_m_runlog(path: str, *args: str) -> subprocess.CompletedProcess:
    env = child_env()
    env["PATH"] = path
    return subprocess.run([sys.executable, "-m", "runlog", *args], env=env, capture_output=True, text=True, timeout=30)


def test_python_m_runlog_runs_the_binary_on_path(tmp_path: Path) -> None:
    fake_runlog(tmp_path / "bin", runlog.__version__)
    r = python_m_runlog(str(tmp_path / "bin"), "ls", "--json")
    assert r.returncode == 0 and r.stdout == "args: ls --json\n" and r.stderr == "", r


def test_python_m_runlog_warns_of_another_version(tmp_path: Path) -> None:
    fake_runlog(tmp_path / "bin", OTHER)
    r = python_m_runlog(str(tmp_path / "bin"), "ls")
    assert r.stdout == "args: ls\n"  # it still runs it
    assert f"is runlog {OTHER} and this Python client is {runlog.__version__}" in r.stderr, r.stderr
    assert f"pip install 'runlog=={OTHER.rsplit('.', 1)[0]}.*'" in r.stderr


def test_python_m_runlog_without_a_binary(tmp_path: Path) -> None:
    r = python_m_runlog(str(tmp_path))
    assert r.returncode == 127
    assert "client-only" in r.stderr and "go install github.com/runlog/runlog/cmd/runlog@latest" in r.stderr


def test_attach_warns_when_runlog_run_is_another_version(home: Path) -> None:
    """Under `runlog run`, the runner's header names the binary's version."""
    for version, warned in [(OTHER, True), (runlog.__version__, False)]:
        folder = home / "runs" / f"r{version.replace('.', '')}"
        folder.mkdir(parents=True)
        header = {"format": 1, "id": folder.name, "time": 1.0, "writer": f"runlog-go/{version}"}
        (folder / "run.log").write_bytes(_format.MAGIC + _format.encode_record(_format.HEADER, 1, _format.dumps(header)))
        r = run_script("import runlog; runlog.init().finish()", RUNLOG_HOME=str(home), RUNLOG_RUN_ID=folder.name)
        assert r.returncode == 0, r.stderr
        assert (f"the runlog command running this script is runlog {OTHER}" in r.stderr) == warned, r.stderr


def test_import_and_a_run_do_not_start_the_binary(home: Path, tmp_path: Path) -> None:
    """import runlog (and logging a run) never runs `runlog`: it costs no process."""
    marker = tmp_path / "started"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "runlog").write_text(f"#!/bin/sh\ntouch {marker}\n")
    (bin_dir / "runlog").chmod(0o755)
    r = run_script("import runlog; runlog.init(project='p').log({'loss': 1.0}); runlog.finish()",
                   RUNLOG_HOME=str(home), PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    assert r.returncode == 0, r.stderr
    assert not marker.exists()
