#!/usr/bin/env bash
# The main job: build runlog with its web UI, train the tiny language model
# twice with different learning rates, list, show, export, compare, plot and
# report the runs, then serve the web UI on them.
# Runs go to $RUNLOG_HOME, else ./runlog. DEMO_SERVE=0 stops before serving;
# DEMO_ADDR picks the address (default 127.0.0.1:7707).
set -euo pipefail
cd "$(dirname "$0")/.."
export RUNLOG_HOME="${RUNLOG_HOME:-$PWD/runlog}"

echo "== building the web UI (npm ci, npm run build)"
(cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build)
echo "== building runlog and the tiny LM"
CGO_ENABLED=0 go build -o bin/runlog ./cmd/runlog
CGO_ENABLED=0 go build -o bin/tinylm ./examples/tinylm

echo "== training with lr 1e-2, then 3e-3, under runlog run (about 30 s each on 2 cores)"
bin/runlog run --project tinylm --name lr-1e-2 --tag lr-sweep --tag baseline --keep-last 3 --keep-best \
  --hypothesis "lr 1e-2 reaches val loss < 1 within 800 steps" \
  -- bin/tinylm -config examples/tinylm/config.json
bin/runlog run --project tinylm --name lr-3e-3 --tag lr-sweep --keep-last 3 --keep-best \
  --hypothesis "a 3x smaller lr is slower and ends higher" \
  -- bin/tinylm -config examples/tinylm/config.json -set lr=3e-3

echo; echo "== runlog ls --project tinylm"
bin/runlog ls --project tinylm
echo; echo "== runlog show lr-1e-2"
bin/runlog show lr-1e-2
echo; echo "== runlog export lr-1e-2 lr-3e-3 (the prototype's files, with plots)"
bin/runlog export lr-1e-2 lr-3e-3
echo; echo "== the first rows of lr-1e-2's metrics.csv"
dir=$(bin/runlog show lr-1e-2 --json 2>/dev/null | sed -n 's/^  "path": "\(.*\)",$/\1/p')
head -4 "$dir/metrics.csv"

echo; echo "== runlog compare: which learning rate gets there first?"
targets=(--target val_loss=1.5 --target train_loss=1.0)
bin/runlog compare lr-1e-2 lr-3e-3 "${targets[@]}" --at-time 20s --at-step 400
bin/runlog compare lr-1e-2 lr-3e-3 "${targets[@]}" --at-time 20s --at-step 400 --markdown > docs/example/compare.md

echo; echo "== docs/: loss curves of both runs, the experiment log"
bin/runlog plot lr-1e-2 lr-3e-3 --smooth 0.9 -o docs/images/
bin/runlog report lr-1e-2 lr-3e-3 "${targets[@]}" -o docs/example/EXPERIMENT_LOG.md
echo "written: docs/images/loss_curves.png, docs/example/compare.md, docs/example/EXPERIMENT_LOG.md"

if [ "${DEMO_SERVE:-1}" != 0 ]; then
  addr="${DEMO_ADDR:-127.0.0.1:7707}"
  echo; echo "== runlog ui: open http://$addr/ in a browser to see the runs (Ctrl-C stops)"
  exec bin/runlog ui --addr "$addr"
fi
