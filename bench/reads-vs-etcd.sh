#!/usr/bin/env bash
# Side-by-side reads: a 3-node Grey cluster against a 3-node etcd 3.4 cluster on loopback, both
# loaded by h2load with the same kind of gRPC body, sent to the leader. Pairs:
#   linearizable  Grey Get (ReadIndex)            vs etcd Range (linearizable, the default)
#   lease         Grey Get consistency=LEASE      vs etcd Range serializable=true
#   stale         Grey Get consistency=STALE      vs etcd Range serializable=true
# Prints one row per pair and concurrency level with the Grey/etcd ratio, and checks from
# Grey's /metrics that every call really succeeded (h2load counts a gRPC error as an HTTP 200).
#
# usage: bench/reads-vs-etcd.sh [GREYD_BINARY]   (from the project root; default .build/release/greyd)
# env:   REQUESTS (default 20000), LEVELS (default "1 64 1024"), ROUNDS (default 1), WORK
set -euo pipefail
cd "$(dirname "$0")/.."
GREYD=$(readlink -f "${1:-.build/release/greyd}")
REQUESTS=${REQUESTS:-20000}
LEVELS=${LEVELS:-"1 64 1024"}
ROUNDS=${ROUNDS:-1}
for tool in etcd etcdctl h2load python3 curl; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y etcd-server etcd-client nghttp2-client curl" >&2; exit 2; }
done
[ -x "$GREYD" ] || { echo "no greyd at $GREYD: swift build -c release --product greyd" >&2; exit 2; }
WORK=${WORK:-$(mktemp -d -t reads-vs-etcd.XXXXXX)}
PIDS=()
source bench/lib.sh
trap stop_all EXIT

VALUE=$(python3 -c 'print("v" * 256)')
grpc_body "$WORK/etcd-linearizable.bin" 1:b:bench-read-key
grpc_body "$WORK/etcd-serializable.bin" 1:b:bench-read-key 7:v:1
grpc_body "$WORK/grey-linearizable.bin" 1:b:bench-read-key
grpc_body "$WORK/grey-lease.bin" 1:b:bench-read-key 2:v:1
grpc_body "$WORK/grey-stale.bin" 1:b:bench-read-key 2:v:2

declare -A BEST P99
best() { # key rps p99
  if awk "BEGIN{exit !($2 > ${BEST[$1]:-0})}"; then BEST[$1]=$2; P99[$1]=$3; fi
}

for round in $(seq 1 "$ROUNDS"); do
  rm -rf "$WORK"/etcd? "$WORK"/grey?
  etcd_start >"$WORK/url"; url=$(cat "$WORK/url")  # not $(...): PIDS must survive (a subshell loses them)
  ETCDCTL_API=3 etcdctl --endpoints="${url#http://}" put bench-read-key "$VALUE" >/dev/null
  for s in $LEVELS; do
    for mode in linearizable serializable; do
      read -r rps p99 errs < <(h2load_run "$url/etcdserverpb.KV/Range" "$WORK/etcd-$mode.bin" "$REQUESTS" "$s")
      [ "$errs" = 0 ] || echo "etcd $mode at $s streams: $errs failed requests" >&2
      best "etcd-$mode-$s" "$rps" "$p99"
    done
  done
  stop_all
  rm -rf "$WORK"/etcd? "$WORK"/grey?
  grey_start >"$WORK/url"; url=$(cat "$WORK/url")
  curl -sf -XPOST "$url/put" -d "{\"key\":\"bench-read-key\",\"value\":\"$VALUE\"}" >/dev/null
  for s in $LEVELS; do
    for mode in linearizable lease stale; do
      read -r rps p99 errs < <(h2load_run "$url/grey.v1.KV/Get" "$WORK/grey-$mode.bin" "$REQUESTS" "$s")
      [ "$errs" = 0 ] || echo "grey $mode at $s streams: $errs failed requests" >&2
      best "grey-$mode-$s" "$rps" "$p99"
    done
  done
  failed=$(curl -sf "$url/metrics" | awk '/^grey_rpc_requests_total\{.*KV\/Get.*code=/ && !/code="OK"/ {sum += $2} END {print sum + 0}')
  ok=$(curl -sf "$url/metrics" | awk '/^grey_rpc_requests_total\{.*KV\/Get.*code="OK"/ {sum += $2} END {print sum + 0}')
  echo "grey round $round: $ok Get calls answered OK, $failed with an error status" >&2
  [ "$failed" = 0 ] || { echo "grey answered reads with errors; numbers are not valid" >&2; exit 1; }
  stop_all
done

printf "%-14s %-8s %12s %12s %8s %11s %11s\n" grey-read streams etcd_req/s grey_req/s ratio etcd_p99ms grey_p99ms
for mode in linearizable lease stale; do
  theirs=$([ $mode = linearizable ] && echo linearizable || echo serializable)
  for s in $LEVELS; do
    e=${BEST[etcd-$theirs-$s]:-0}; g=${BEST[grey-$mode-$s]:-0}
    printf "%-14s %-8s %12s %12s %8s %11s %11s\n" "$mode" "$s" "$e" "$g" \
      "$(awk "BEGIN{printf \"%.2f\", $g / ($e + 1e-9)}")" "${P99[etcd-$theirs-$s]:-nan}" "${P99[grey-$mode-$s]:-nan}"
  done
done
