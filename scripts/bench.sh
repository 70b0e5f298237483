#!/usr/bin/env bash
# Every benchmark of docs/benchmarks.md: builds runlog, runlog-bench and the
# tiny LM into bin/ (CGO-free, as released) and runs `runlog-bench all`,
# which prints every table. About 9 minutes on a 2-core machine (11 with
# --python, which adds the MLflow benchmark) and 1 GB of scratch space.
#
#   scripts/bench.sh                        # every benchmark, default sizes
#   scripts/bench.sh --quick                # each at about a tenth of its sizes (~3 minutes)
#   scripts/bench.sh --only store,chart     # flags go to `runlog-bench all`
#   scripts/bench.sh chart --runs 3         # one benchmark; flags go to it
#   RUNLOG_SRC=../old scripts/bench.sh      # another checkout (one with runlog-bench's subcommands)
#
# `bin/runlog-bench help` lists the benchmarks and their flags.
set -euo pipefail
cd "${RUNLOG_SRC:-$(dirname "$0")/..}"
export CGO_ENABLED=0
go build -o bin/runlog ./cmd/runlog
go build -o bin/runlog-bench ./cmd/runlog-bench
go build -o bin/tinylm ./examples/tinylm
cmd=all
case "${1:-}" in
  all | store | analyze | chart | server | manykeys | compat | groups | sweep) cmd=$1; shift ;;
esac
# The binaries just built come first, so that flags given here override them.
case $cmd in
  all | store) set -- --runlog bin/runlog --tinylm bin/tinylm "$@" ;;
  analyze | chart | manykeys | groups) set -- --runlog bin/runlog "$@" ;;
esac
echo "runlog-bench $cmd, $(git rev-parse --short HEAD 2>/dev/null || echo "not a git checkout") in $(pwd)" >&2
exec bin/runlog-bench "$cmd" "$@"
