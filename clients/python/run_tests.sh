#!/usr/bin/env bash
# Tests of the Python client: creates (or reuses) clients/python/.venv,
# installs pytest and the package into it, and runs pytest. CI calls this.
#
#   clients/python/run_tests.sh [pytest args...]
#
# PYTHON picks the interpreter (default python3, which must be >= 3.9).
# The Go interop tests build ./cmd/runlog with `go` when it is installed
# (they are skipped without it), or use the binary named by RUNLOG_BIN.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"

python="${PYTHON:-python3}"
venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
# NumPy for the tests of images and histograms from arrays (test_media.py);
# the package itself never needs it, and those tests skip without it.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pytest numpy
# A fresh install of this checkout's package (not an editable one), as users get
# it; a stale build/ could carry modules that no longer exist.
rm -rf "$here/build" "$here"/*.egg-info
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$here"

# Import the installed package, not the source folder beside the tests.
cd "$here/tests"
exec "$venv/bin/python" -m pytest -p no:cacheprovider -q "$@" .
