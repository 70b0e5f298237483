"""What the real-client scripts beside this file share: counting checks,
reading a run back through `runlog show --json`, a file's sha256, and
handing the result to the Go test that ran the script.

The Go side (internal/mlflow/helpers_test.go, runScript) sets RESULT_FILE;
runClientScript adds RUNLOG_HOME and RUNLOG_BIN, which runlog_show needs.
"""

import hashlib
import json
import os
import subprocess

checks = 0


def check(cond, what):
    global checks
    if not cond:
        raise AssertionError(what)
    checks += 1


def runlog_show(run_id):
    out = subprocess.run(
        [os.environ["RUNLOG_BIN"], "--home", os.environ["RUNLOG_HOME"], "show", "--json", run_id],
        check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(out)


def sha256(path):
    """The hex sha256 of the file at path, read a MiB at a time."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def finish(result, label=""):
    """Writes result to RESULT_FILE as JSON and says how many checks passed."""
    with open(os.environ["RESULT_FILE"], "w") as f:
        json.dump(result, f)
    print(f"{label}{checks} checks passed")
