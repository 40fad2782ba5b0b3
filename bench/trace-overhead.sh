#!/usr/bin/env bash
# What tracing costs: `greyctl bench` puts against three release greyd, alternating builds and
# settings so the machine's drift falls on all alike. A BASE binary (a build from before
# tracing existed) against this one with tracing off, with an endpoint and sampling 0 (the
# nodes bootstrapped, calls unsampled), and with every request traced (`bench --trace`, spans
# sent to tools/otlp_receiver.py, which costs CPU of its own on this machine).
#
# usage: bench/trace-overhead.sh BASE_GREYD [GREYD]   (from the project root; default .build/release/greyd)
# env:   ROUNDS (default 3), REQUESTS (default 20000), CLIENTS (default 64), MODES (default "base off unsampled")
set -euo pipefail
BASE=$(readlink -f "$1")
NEW=$(readlink -f "${2:-.build/release/greyd}")
GREYCTL=$(readlink -f "$(dirname "$NEW")/greyctl")
ROUNDS=${ROUNDS:-3}
REQUESTS=${REQUESTS:-20000}
CLIENTS=${CLIENTS:-64}
MODES=${MODES:-"base off unsampled"}
WORK=$(mktemp -d -t trace-overhead.XXXXXX)
PIDS=()
. "$(dirname "$0")/lib.sh"
trap 'stop_all; rm -rf "$WORK"' EXIT
RECEIVER_PORT=4318

run() { # mode -> req/s p99_ms
  local mode=$1 extra=()
  rm -rf "$WORK"/grey?
  GREYD=$NEW
  case $mode in
    base) GREYD=$BASE ;;
    off) ;;
    unsampled) extra=(GREY_TRACE_ENDPOINT=http://127.0.0.1:$RECEIVER_PORT GREY_TRACE_SAMPLE=0) ;;
    traced) extra=(GREY_TRACE_ENDPOINT=http://127.0.0.1:$RECEIVER_PORT) ;;
  esac
  grey_start "${extra[@]}" >"$WORK/url"
  local leader flags=()
  leader=$(sed 's|http://||' "$WORK/url")
  [ "$mode" = traced ] && flags=(--trace)
  "$GREYCTL" bench "${flags[@]}" --endpoints "$leader" --requests 2000 --clients "$CLIENTS" -o json >/dev/null  # warm up
  "$GREYCTL" bench "${flags[@]}" --endpoints "$leader" --requests "$REQUESTS" --clients "$CLIENTS" -o json \
    >"$WORK/bench.json" || true
  stop_all
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("%.0f %.2f" % (r["throughput"], r["latency_ms"]["p99"]))' "$WORK/bench.json"
}

if [[ " $MODES " == *" traced "* ]]; then
  python3 "$(dirname "$0")/../tools/otlp_receiver.py" --port $RECEIVER_PORT --out /dev/null --seconds 3600 >/dev/null &
  RECEIVER=$!
  trap 'stop_all; kill $RECEIVER 2>/dev/null; rm -rf "$WORK"' EXIT
fi
echo "fdatasync p50/p99 on $WORK: $(python3 - "$WORK" <<'PY'
import os, sys, time
path = os.path.join(sys.argv[1], "probe"); fd = os.open(path, os.O_WRONLY | os.O_CREAT); samples = []
for _ in range(200):
    os.write(fd, b"x" * 256); t = time.perf_counter(); os.fdatasync(fd); samples.append(time.perf_counter() - t)
samples.sort(); print("%.3f / %.3f ms" % (samples[100] * 1e3, samples[198] * 1e3))
PY
)"
printf "%-6s %-10s %9s %8s\n" round mode req/s p99_ms
declare -A total
for round in $(seq 1 "$ROUNDS"); do
  for mode in $MODES; do
    read -r rps p99 < <(run "$mode" || echo "0 nan")
    printf "%-6s %-10s %9s %8s\n" "$round" "$mode" "$rps" "$p99"
    total[$mode]=$(( ${total[$mode]:-0} + rps ))
  done
done
for mode in $MODES; do
  printf "mean %-10s %9d req/s  (%s of base)\n" "$mode" $(( total[$mode] / ROUNDS )) \
    "$(python3 -c "print('%.3f' % (${total[$mode]} / ${total[base]:-${total[$mode]}}))")"
done
