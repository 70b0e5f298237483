#!/usr/bin/env bash
# SeaweedFS's `weed`, a real S3-compatible server for runlog's object-storage
# tests and benchmark (internal/objstore, runlog-bench objstore).
#
#   scripts/seaweedfs.sh build       build weed once (about 7 CPU-minutes: 4 minutes on
#                                    2 idle cores) and print the binary's path
#   scripts/seaweedfs.sh path        print the binary's path; exit 1 if not built
#   scripts/seaweedfs.sh start DIR   start weed with its data in DIR, bound to
#                                    127.0.0.1, and print the S3 endpoint once it
#                                    answers (http://127.0.0.1:PORT)
#   scripts/seaweedfs.sh stop DIR    stop the weed started in DIR
#
# `go install` refuses SeaweedFS (its go.mod has a replace directive), so the
# module is fetched with `go mod download` through the Go module proxy and
# built in its folder. The binary is cached by version under
# ${XDG_CACHE_HOME:-$HOME/.cache}/runlog/weed-<version>; RUNLOG_WEED names
# another binary instead. A restart in the same DIR reuses its ports (kept in
# DIR/ports) and its data, as a server restarted by its operator would.
# No credentials are configured: weed accepts anonymous requests. Its
# telemetry and the extra listeners on fixed ports (Iceberg, Lance) are off,
# so that several can run at once on one machine and none calls out.
set -euo pipefail

version=v0.0.0-20261109003541-7506e5f91cd6
module=github.com/seaweedfs/seaweedfs
cache="${XDG_CACHE_HOME:-$HOME/.cache}/runlog"
bin="${RUNLOG_WEED:-$cache/weed-$version}"

die() { echo "seaweedfs.sh: $*" >&2; exit 1; }

build() {
  if [ -x "$bin" ]; then echo "$bin"; return; fi
  [ -z "${RUNLOG_WEED:-}" ] || die "RUNLOG_WEED=$RUNLOG_WEED is not an executable file"
  command -v go >/dev/null || die "go is needed to build weed"
  echo "seaweedfs.sh: building weed $version (about 4 minutes on 2 cores)" >&2
  local dir
  dir=$(go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -n "$dir" ] && [ -d "$dir/weed" ] || die "go mod download $module@$version gave no module folder"
  mkdir -p "$cache"
  # Built beside its final name, then renamed: a build cut short leaves no
  # half-written binary behind that a later run would take for a good one.
  local tmp="$bin.tmp.$$"
  (cd "$dir" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -o "$tmp" ./weed) || { rm -f "$tmp"; die "go build of weed failed"; }
  mv "$tmp" "$bin"
  echo "$bin"
}

# port_free PORT: nothing listens on 127.0.0.1:PORT.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# http_status PORT: the status code of GET / on 127.0.0.1:PORT, through
# bash's /dev/tcp (no curl needed); empty if nothing answers.
http_status() {
  (
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 0
    printf 'GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
    read -r -t 5 _ code _ <&3 && echo "$code"
  ) 2>/dev/null
}

# pick_base: a port p such that p..p+4 and their gRPC ports (+10000) are free.
# Both stay below 32768, where Linux's ephemeral ports begin (its default
# ip_local_port_range), so that no outgoing connection takes one between
# this check and weed's bind.
pick_base() {
  local try p i ok
  for try in $(seq 1 50); do
    p=$((12000 + RANDOM % 10000))
    ok=1
    for i in 0 1 2 3 4; do
      port_free $((p + i)) && port_free $((p + i + 10000)) || { ok=0; break; }
    done
    [ "$ok" = 1 ] && { echo "$p"; return; }
  done
  die "no free ports found"
}

start() {
  local dir=${1:?usage: seaweedfs.sh start DIR}
  [ -x "$bin" ] || die "weed is not built: run scripts/seaweedfs.sh build"
  mkdir -p "$dir/data"
  dir=$(cd "$dir" && pwd)
  if [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
    die "weed already runs in $dir (pid $(cat "$dir/pid"))"
  fi
  [ -f "$dir/ports" ] || pick_base >"$dir/ports"
  local p
  p=$(cat "$dir/ports")
  local s3=$p master=$((p + 1)) volume=$((p + 2)) filer=$((p + 3))
  # setsid: weed gets its own process group, so the caller's Ctrl-C or a
  # test's exit does not reach it; stop kills it by its pid.
  setsid "$bin" server -dir="$dir/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
    -master.port=$master -master.port.grpc=$((master + 10000)) \
    -volume.port=$volume -volume.port.grpc=$((volume + 10000)) \
    -filer.port=$filer -filer.port.grpc=$((filer + 10000)) \
    -s3 -s3.port=$s3 -s3.port.grpc=$((s3 + 10000)) \
    -master.volumeSizeLimitMB=256 -volume.max=200 \
    -master.telemetry=false -s3.port.iceberg=0 -s3.port.lance=0 \
    >"$dir/weed.log" 2>&1 </dev/null &
  echo $! >"$dir/pid"
  local endpoint="http://127.0.0.1:$s3"
  # weed answers S3 about 10 s after it starts; a listing of buckets is the
  # first request that works end to end.
  for _ in $(seq 1 120); do
    if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
      if [ -z "${RUNLOG_WEED_RETRY:-}" ] && grep -q 'address already in use' "$dir/weed.log"; then
        # another program took one of the ports after the check: once
        # more, on fresh ones
        echo "seaweedfs.sh: a port was taken meanwhile; starting again on others" >&2
        rm -f "$dir/pid" "$dir/ports"
        RUNLOG_WEED_RETRY=1 start "$dir"
        return
      fi
      tail -20 "$dir/weed.log" >&2
      die "weed exited while starting (log: $dir/weed.log)"
    fi
    if [ "$(http_status "$s3")" = 200 ]; then
      echo "$endpoint"
      return
    fi
    sleep 0.5
  done
  stop "$dir"
  die "weed did not answer at $endpoint within 60 s (log: $dir/weed.log)"
}

stop() {
  local dir=${1:?usage: seaweedfs.sh stop DIR}
  [ -f "$dir/pid" ] || return 0
  local pid
  pid=$(cat "$dir/pid")
  # weed does not stop on SIGTERM within seconds; its data is written
  # through, so after a short grace SIGKILL loses nothing a test relies on.
  kill -TERM "$pid" 2>/dev/null || true
  for _ in 1 2 3 4; do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -KILL "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  rm -f "$dir/pid"
}

case "${1:-}" in
  build) build ;;
  path) [ -x "$bin" ] && echo "$bin" || exit 1 ;;
  start) start "${2:-}" ;;
  stop) stop "${2:-}" ;;
  *) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2; exit 2 ;;
esac
