"""``import runlog`` stays cheap (issue 16: at most 30 ms): it imports the
package's ``__init__``, ``_hooks`` and ``_version`` only, and none of the
standard library's heavier modules; the rest comes on first use of a name
(``runlog.init``, ``runlog.Image``, ...). A fresh interpreter tells, so that
an eager import added anywhere fails here rather than slowing every program
that imports runlog."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import runlog

# The package's modules that `import runlog` imports.
EAGER = {"runlog", "runlog._hooks", "runlog._version"}
# Standard-library modules that the package uses but `import runlog` must
# not import (each costs milliseconds, or pulls in others that do).
HEAVY = {"typing", "re", "json", "hashlib", "enum", "signal", "zlib", "struct", "tempfile", "subprocess", "urllib.request"}


def fresh(code: str) -> dict:
    """Runs code in a fresh interpreter that imports the runlog these tests
    import; returns the JSON it prints."""
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(runlog.__file__))))
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.splitlines()[-1])


MODULES = """
import sys
before = set(sys.modules)
import runlog
{after}
new = sorted(set(sys.modules) - before)
import json
print(json.dumps({{"new": new}}))
"""


def test_import_runlog_imports_only_the_light_modules():
    got = fresh(MODULES.format(after=""))
    new = set(got["new"])
    ours = {m for m in new if m == "runlog" or m.startswith("runlog.")}
    assert ours == EAGER, sorted(ours)
    # Those already there before (the interpreter's start, site) are not ours to avoid.
    assert HEAVY & new == set(), sorted(HEAVY & new)


def test_every_public_name_is_there_on_first_use():
    # dir() lists the lazy names; getattr imports each one's module; the
    # names are then ordinary module attributes.
    got = fresh(MODULES.format(after="""
names = {n: type(getattr(runlog, n)).__name__ for n in runlog.__all__}
assert set(runlog.__all__) <= set(dir(runlog))
assert runlog.run is None and type(runlog.config).__name__ == "Config" and runlog.config is runlog.config
from runlog import init, Image, AlertLevel, read_records
assert init is runlog.init and "init" in vars(runlog)
"""))
    assert {"runlog._start", "runlog._media", "runlog._compat", "runlog._format"} <= set(got["new"])


def test_init_logs_after_a_lazy_import(tmp_path):
    got = fresh(MODULES.format(after=f"""
run = runlog.init(project="p", name="lazy", dir={str(tmp_path)!r})
runlog.log({{"loss": 1.0}})
runlog.finish()
"""))
    assert "runlog._start" in got["new"]
    folders = list((tmp_path / "runs").iterdir())
    assert len(folders) == 1 and (folders[0] / "run.log").stat().st_size > 0
