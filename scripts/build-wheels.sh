#!/usr/bin/env bash
# Builds runlog's Python distributions from this checkout:
#
#   scripts/build-wheels.sh [OUT]      # OUT defaults to dist/
#
# OUT/runlog-V-py3-none-<platform>.whl   the client and the runlog binary (UI
#     embedded), installed as the environment's `runlog` command, for
#     manylinux_2_17/musllinux_1_1 x86_64 and aarch64, macOS 12+ x86_64 and
#     arm64, Windows amd64
# OUT/runlog-V-py3-none-any.whl          the client alone (logs runs, no binary)
# OUT/runlog-V.tar.gz                    the sdist: the client, for other platforms
#
# Then: pip install OUT/runlog-V-py3-none-manylinux_2_17_x86_64.*.whl
#
# It needs Go and Python >= 3.11, not Node: the UI is the committed web/dist.
# V comes from the tag on HEAD or the VERSION file (scripts/version.sh). The
# same commit gives the same bytes: binaries from scripts/binaries.sh, every
# file time SOURCE_DATE_EPOCH (the commit time), entries sorted, modes fixed
# (scripts/pack.py). docs/install.md says more.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-dist}
mkdir -p "$out"
out=$(cd "$out" && pwd)
scripts/binaries.sh "$out/binaries"
eval "$(scripts/version.sh)"
export SOURCE_DATE_EPOCH
rm -f "$out"/runlog-*.whl "$out"/runlog-*.tar.gz
args=()
for d in "$out"/binaries/*/; do
  p=$(basename "$d")
  args+=(--binary "$p=$(ls "$d"runlog*)")
done
echo "  wheels and sdist of runlog $RUNLOG_VERSION:"
python3 scripts/pack.py wheels --version "$RUNLOG_VERSION" --epoch "$SOURCE_DATE_EPOCH" --out "$out" "${args[@]}"
