#!/usr/bin/env bash
# The storage benchmarks of docs/benchmarks.md: prints one table, runlog
# beside a plain file of 32-byte records, medians of 3 runs, and the
# overhead of runlog run on the tiny LM. Takes a few minutes and about 1 GB
# of scratch space. Extra flags go to runlog-bench
# (-points, -runs, -repeat, -dir).
set -euo pipefail
cd "$(dirname "$0")/.."
CGO_ENABLED=0 go build -o bin/runlog ./cmd/runlog
CGO_ENABLED=0 go build -o bin/runlog-bench ./cmd/runlog-bench
CGO_ENABLED=0 go build -o bin/tinylm ./examples/tinylm
bin/runlog-bench -runlog bin/runlog -tinylm bin/tinylm "$@"
