#!/usr/bin/env bash
# Builds runlog's release archives from this checkout:
#
#   scripts/release.sh [OUT]      # OUT defaults to dist/release
#
# OUT/runlog-V-<goos>-<goarch>.tar.gz (.zip for Windows) for linux-amd64,
# linux-arm64, darwin-amd64, darwin-arm64 and windows-amd64, each a folder
# runlog-V-<goos>-<goarch>/ holding
#   runlog (runlog.exe)          the binary, web UI embedded (scripts/binaries.sh)
#   README.md, LICENSE           the repository's (LICENSE when there is one)
#   completions/runlog.bash      shell completions written by `runlog completion`:
#   completions/_runlog          zsh
#   completions/runlog.fish      fish
#   completions/runlog.ps1       PowerShell
# and OUT/SHA256SUMS, the archives' checksums (`sha256sum -c SHA256SUMS`).
#
# V is the tag on HEAD or the VERSION file (scripts/version.sh); the same
# commit gives the same bytes (times SOURCE_DATE_EPOCH, entries sorted, modes
# fixed: scripts/pack.py). docs/install.md says how to install an archive
# and its completions.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-dist/release}
mkdir -p "$out"
out=$(cd "$out" && pwd)
platforms=(linux-amd64 linux-arm64 darwin-amd64 darwin-arm64 windows-amd64)
scripts/binaries.sh "$out/binaries" "${platforms[@]}"
eval "$(scripts/version.sh)"
export SOURCE_DATE_EPOCH

# Completions are the same for every platform: written by a binary for this machine.
host="$(go env GOOS)-$(go env GOARCH)"
[ -x "$out/binaries/$host/runlog" ] || scripts/binaries.sh "$out/binaries" "$host"
comp="$out/completions"
mkdir -p "$comp"
"$out/binaries/$host/runlog" completion bash > "$comp/runlog.bash"
"$out/binaries/$host/runlog" completion zsh > "$comp/_runlog"
"$out/binaries/$host/runlog" completion fish > "$comp/runlog.fish"
"$out/binaries/$host/runlog" completion powershell > "$comp/runlog.ps1"

license=()
if [ -f LICENSE ]; then
  license=(LICENSE=LICENSE)
else
  echo "warning: the repository has no LICENSE file: the archives go without one" >&2
fi
rm -f "$out"/runlog-*.tar.gz "$out"/runlog-*.zip "$out/SHA256SUMS"
archives=()
for p in "${platforms[@]}"; do
  name="runlog-$RUNLOG_VERSION-$p"
  exe=runlog ext=tar.gz
  [ "${p%-*}" = windows ] && exe=runlog.exe ext=zip
  python3 scripts/pack.py archive --epoch "$SOURCE_DATE_EPOCH" --out "$out/$name.$ext" --prefix "$name" \
    "$out/binaries/$p/$exe=$exe:755" README.md=README.md ${license[@]+"${license[@]}"} \
    "$comp/runlog.bash=completions/runlog.bash" "$comp/_runlog=completions/_runlog" \
    "$comp/runlog.fish=completions/runlog.fish" "$comp/runlog.ps1=completions/runlog.ps1"
  archives+=("$name.$ext")
done
(
  cd "$out"
  if command -v sha256sum >/dev/null; then sha256sum "${archives[@]}"; else shasum -a 256 "${archives[@]}"; fi > SHA256SUMS
)
echo "runlog $RUNLOG_VERSION (commit ${RUNLOG_COMMIT:0:12}) in $out:"
(cd "$out" && ls -l "${archives[@]}" SHA256SUMS | awk '{printf "  %-44s %6.1f MB\n", $NF, $5/1e6}')
