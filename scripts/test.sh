#!/usr/bin/env bash
# Every test: formatting, vet, a CGO-free build, the Go tests with the race
# detector (which needs gcc), and the Python tests: the client's and the
# CS336 example's (those that need PyTorch skip without it). The Python
# tests run in a virtualenv, clients/python/.venv, that this script makes.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
echo "== go vet"
go vet ./...
echo "== CGO_ENABLED=0 go build"
CGO_ENABLED=0 go build ./...
CGO_ENABLED=0 go build -o bin/runlog ./cmd/runlog
echo "== go test -race"
go test -race -timeout 20m ./...
echo "== Python client (pytest)"
RUNLOG_BIN="$PWD/bin/runlog" clients/python/run_tests.sh
echo "== examples/cs336 (pytest)"
clients/python/.venv/bin/python -m pytest -p no:cacheprovider -q examples/cs336/tests
