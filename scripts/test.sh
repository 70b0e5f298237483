#!/usr/bin/env bash
# Every test: formatting, vet, the web UI's build, a CGO-free build, the Go
# tests with the race detector (which needs gcc) — among them the unmodified
# MLflow client logging to runlog —, the Python tests (the client's and the
# CS336 example's; those that need PyTorch skip without it) and the web UI's
# tests in headless Chromium, then the wheels of scripts/build-wheels.sh as a
# user installs them (scripts/install_test).
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

# The Go tests of internal/objstore run against a real S3 server, SeaweedFS's
# weed (scripts/seaweedfs.sh): built once into a cache (about 7 CPU-minutes), in
# the background while the steps below run.
weedlog=$(mktemp)
scripts/seaweedfs.sh build >"$weedlog" 2>&1 &
weedbuild=$!
weeddir=$(mktemp -d)
trap 'scripts/seaweedfs.sh stop "$weeddir"; rm -rf "$weeddir" "$weedlog"' EXIT

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
echo "== go vet"
go vet ./...

echo "== web UI: npm ci, npm run build"
(cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build)
# web/dist is committed (go install serves it): it must be the build of web/src.
if [ -n "$(git status --porcelain -- web/dist)" ]; then
  git status --short -- web/dist
  echo "web/dist is not the build of web/src: run (cd web && npm ci && npm run build) and commit web/dist"; exit 1
fi

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

echo "== SeaweedFS, the S3 server of the object-storage tests"
wait "$weedbuild" || { cat "$weedlog"; echo "scripts/seaweedfs.sh build failed"; exit 1; }
RUNLOG_TEST_S3=$(scripts/seaweedfs.sh start "$weeddir")
export RUNLOG_TEST_S3
echo "S3 at $RUNLOG_TEST_S3"

echo "== PostgreSQL for the PostgreSQL store's tests (storetest runs on it as on SQLite)"
# The tests start a throwaway cluster with initdb themselves (as the user
# postgres, or nobody, when run as root), or use $RUNLOG_TEST_POSTGRES, a DSN;
# without PostgreSQL they would skip, so it is installed. Debian keeps
# initdb off the PATH, in /usr/lib/postgresql/<version>/bin.
if command -v initdb >/dev/null; then pgbin=$(dirname "$(command -v initdb)")
else pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | tail -1 || true); fi
if [ -z "${RUNLOG_TEST_POSTGRES:-}" ] && [ ! -x "$pgbin/initdb" ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  pgbin=$(ls -d /usr/lib/postgresql/*/bin | tail -1)
  [ -x "$pgbin/initdb" ] || { echo "postgresql is installed but has no initdb in $pgbin"; exit 1; }
fi

echo "== nginx, the proxy in front of the team server's two replicas (internal/server's team tests)"
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx >/dev/null
fi

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

echo "== install: the wheels (built twice: the same bytes), pip install without Go or Node, runlog ui in Chromium"
CHROMIUM="$chromium" clients/python/.venv/bin/python -m pytest -p no:cacheprovider -q scripts/install_test
