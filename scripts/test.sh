#!/usr/bin/env bash
# Every test: formatting, vet, the web UI's build, a CGO-free build, the Go
# tests with the race detector (which needs gcc) — among them the unmodified
# MLflow client logging to runlog —, the Python tests (the client's and the
# CS336 example's; those that need PyTorch skip without it) and the web UI's
# tests in headless Chromium.
#
# What the tests need and the machine lacks is installed: Debian's chromium
# (apt-get, as root or through sudo), the web UI's npm packages (npm ci, into
# web/node_modules) and three virtualenvs made by this script:
# clients/python/.venv (pytest), internal/mlflow/testdata/.venv (the pinned
# mlflow-skinny of internal/mlflow/testdata/requirements.txt) and
# internal/mlflow/testdata/latest/.venv (the newest mlflow-skinny pip gives,
# so that a new MLflow release that breaks runlog fails here).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
echo "== go vet"
go vet ./...

echo "== web UI: npm ci, npm run build"
(cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build)

echo "== CGO_ENABLED=0 go build"
CGO_ENABLED=0 go build ./...
CGO_ENABLED=0 go build -o bin/runlog ./cmd/runlog

echo "== the MLflow client for the compatibility test"
mlvenv=internal/mlflow/testdata/.venv
if [ ! -x "$mlvenv/bin/python" ]; then
  python3 -m venv "$mlvenv"
fi
"$mlvenv/bin/python" -m pip install --quiet --disable-pip-version-check -r internal/mlflow/testdata/requirements.txt
export RUNLOG_MLFLOW_PYTHON="$PWD/$mlvenv/bin/python"
# and the newest MLflow client, unpinned, in its own virtualenv
mllatest=internal/mlflow/testdata/latest/.venv
[ -x "$mllatest/bin/python" ] || python3 -m venv "$mllatest"
"$mllatest/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade -r internal/mlflow/testdata/requirements-latest.txt
export RUNLOG_MLFLOW_PYTHON_LATEST="$PWD/$mllatest/bin/python"

echo "== go test -race"
go test -race -timeout 20m ./...
echo "== Python client (pytest)"
RUNLOG_BIN="$PWD/bin/runlog" clients/python/run_tests.sh
echo "== examples/cs336 (pytest)"
clients/python/.venv/bin/python -m pytest -p no:cacheprovider -q examples/cs336/tests

echo "== web UI in headless Chromium"
chromium="${CHROMIUM:-$(command -v chromium || true)}"
if [ -z "$chromium" ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
  chromium=$(command -v chromium)
fi
(cd web && CHROMIUM="$chromium" RUNLOG_BIN="$PWD/../bin/runlog" npm test)
