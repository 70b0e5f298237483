#!/usr/bin/env bash
# The version of this checkout, from one place: a tag vX.Y.Z on HEAD, else
# the VERSION file. Prints shell assignments for release builds
# (scripts/build-wheels.sh, scripts/release.sh):
#
#   RUNLOG_VERSION=0.1.0          the version (a tag on HEAD must agree with VERSION)
#   RUNLOG_COMMIT=<40 hex>        HEAD
#   RUNLOG_DATE=2026-12-01T10:00:00Z   HEAD's commit time, the "build date"
#   SOURCE_DATE_EPOCH=1796119200  the same time in seconds: every file time in a wheel or archive
#   RUNLOG_LDFLAGS='-s -w …'      the go build -ldflags that stamp the binary with the three above
#
#   scripts/version.sh          print them (eval "$(scripts/version.sh)")
#   scripts/version.sh --check  fail unless internal/version.Base and the Python
#                               client's runlog/_version.py say what VERSION says
#   scripts/version.sh --sync   write VERSION's version into those two files
#
# To release X.Y.Z: write X.Y.Z into VERSION, scripts/version.sh --sync,
# commit, tag vX.Y.Z, then scripts/build-wheels.sh and scripts/release.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

file_version=$(tr -d ' \t\r\n' < VERSION)
if ! [[ $file_version =~ ^[0-9]+\.[0-9]+\.[0-9]+([.+-]?[A-Za-z0-9.]+)?$ ]]; then
  echo "VERSION: \"$file_version\" is not a version like 1.2.3" >&2; exit 1
fi
go_file=internal/version/version.go
py_file=clients/python/runlog/_version.py

case "${1:-}" in
--sync)
  sed -i.bak -E "s/^const Base = \"[^\"]*\"/const Base = \"$file_version\"/" "$go_file" && rm -f "$go_file.bak"
  sed -i.bak -E "s/^VERSION = \"[^\"]*\"/VERSION = \"$file_version\"/" "$py_file" && rm -f "$py_file.bak"
  exec "$0" --check
  ;;
--check)
  bad=0
  grep -q "^const Base = \"$file_version\"$" "$go_file" || { echo "$go_file: Base is not VERSION's $file_version (scripts/version.sh --sync)" >&2; bad=1; }
  grep -q "^VERSION = \"$file_version\"$" "$py_file" || { echo "$py_file: VERSION is not VERSION's $file_version (scripts/version.sh --sync)" >&2; bad=1; }
  exit $bad
  ;;
"") ;;
*) echo "usage: scripts/version.sh [--check | --sync]" >&2; exit 2 ;;
esac

version=$file_version
tag=$(git tag --points-at HEAD --list 'v[0-9]*' | sort -V | tail -n 1)
if [ -n "$tag" ] && [ "${tag#v}" != "$file_version" ]; then
  echo "HEAD is tagged $tag but VERSION says $file_version: they must agree (write ${tag#v} into VERSION, scripts/version.sh --sync)" >&2
  exit 1
fi
commit=$(git rev-parse HEAD)
epoch=$(git log -1 --format=%ct HEAD)
date=$(TZ=UTC git log -1 --date=format-local:%Y-%m-%dT%H:%M:%SZ --format=%cd HEAD)
pkg=github.com/runlog/runlog/internal/version
printf 'RUNLOG_VERSION=%s\nRUNLOG_COMMIT=%s\nRUNLOG_DATE=%s\nSOURCE_DATE_EPOCH=%s\n' "$version" "$commit" "$date" "$epoch"
printf "RUNLOG_LDFLAGS='-s -w -buildid= -X %s.stamped=%s -X %s.commit=%s -X %s.date=%s'\n" "$pkg" "$version" "$pkg" "$commit" "$pkg" "$date"
