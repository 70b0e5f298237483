#!/usr/bin/env bash
# Cross-compiles runlog for the released platforms, with the web UI (the
# committed web/dist) embedded and the version stamped (scripts/version.sh):
#
#   scripts/binaries.sh OUT [PLATFORM ...]   # OUT/<goos>-<goarch>/runlog[.exe]
#
# PLATFORM is goos-goarch; the default is every released one: linux-amd64,
# linux-arm64, darwin-amd64, darwin-arm64, windows-amd64. The builds are
# CGO-free (static; no libc needed), -trimpath and -buildvcs=false, with the
# version, commit and commit time stamped by -ldflags and a fixed build id,
# so that one commit and one Go version give the same bytes. Used by
# scripts/build-wheels.sh and scripts/release.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: scripts/binaries.sh OUT [PLATFORM ...]}
shift
platforms=("$@")
[ ${#platforms[@]} -gt 0 ] || platforms=(linux-amd64 linux-arm64 darwin-amd64 darwin-arm64 windows-amd64)

if [ ! -f web/dist/index.html ]; then
  echo "web/dist has no built UI: cd web && npm ci && npm run build (it is committed; a checkout has it)" >&2
  exit 1
fi
scripts/version.sh --check
eval "$(scripts/version.sh)"
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
  echo "warning: the checkout has uncommitted changes: these binaries are not commit ${RUNLOG_COMMIT:0:12}'s" >&2
fi
for p in "${platforms[@]}"; do
  goos=${p%-*} goarch=${p#*-}
  exe=runlog; [ "$goos" = windows ] && exe=runlog.exe
  mkdir -p "$out/$p"
  echo "  go build $p → $out/$p/$exe (runlog $RUNLOG_VERSION)"
  CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch GOAMD64=v1 GOARM64=v8.0 GOFLAGS= \
    go build -trimpath -buildvcs=false -ldflags "$RUNLOG_LDFLAGS" -o "$out/$p/$exe" ./cmd/runlog
done
