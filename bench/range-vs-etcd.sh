#!/usr/bin/env bash
# Range side by side: a 3-node Grey cluster and a 3-node etcd 3.4 cluster on loopback, both
# loaded through etcdserverpb.KV/Range with the identical request bytes, sent to the leader:
#   one-key     key=bench/0042                          (linearizable, the default)
#   prefix-100  key=bench/, range_end=bench0: 100 keys   (linearizable)
# The 100 keys (256-byte values) are written with etcdctl on both: Grey answers etcd's API.
# Prints one row per query and concurrency level with the Grey/etcd ratio, and checks from
# Grey's /metrics that every Range succeeded (h2load counts a gRPC error as an HTTP 200).
#
# usage: bench/range-vs-etcd.sh [GREYD_BINARY]   (from the project root; default .build/release/greyd)
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
WORK=${WORK:-$(mktemp -d -t range-vs-etcd.XXXXXX)}
PIDS=()
source bench/lib.sh
trap stop_all EXIT

grpc_body "$WORK/one-key.bin" 1:b:bench/0042
grpc_body "$WORK/prefix-100.bin" 1:b:bench/ 2:b:bench0
VALUE=$(python3 -c 'print("v" * 256)')

fill() { # endpoint: 100 keys through etcd's API
  for i in $(seq -w 0 99); do ETCDCTL_API=3 etcdctl --endpoints="$1" put "bench/00$i" "$VALUE" >/dev/null; done
  local count
  count=$(ETCDCTL_API=3 etcdctl --endpoints="$1" get bench/ --prefix --limit 1 -w json | python3 -c 'import json,sys; print(json.load(sys.stdin).get("count", 0))')
  [ "$count" = 100 ] || { echo "expected 100 keys at $1, found $count" >&2; exit 1; }
}

declare -A BEST P99
best() { # key rps p99
  if awk "BEGIN{exit !($2 > ${BEST[$1]:-0})}"; then BEST[$1]=$2; P99[$1]=$3; fi
}

for round in $(seq 1 "$ROUNDS"); do
  for system in etcd grey; do
    rm -rf "$WORK"/etcd? "$WORK"/grey?
    ${system}_start >"$WORK/url"; url=$(cat "$WORK/url")  # not $(...): PIDS must survive
    fill "${url#http://}"
    for s in $LEVELS; do
      for query in one-key prefix-100; do
        read -r rps p99 errs < <(h2load_run "$url/etcdserverpb.KV/Range" "$WORK/$query.bin" "$REQUESTS" "$s")
        [ "$errs" = 0 ] || echo "$system $query at $s streams: $errs failed requests" >&2
        best "$system-$query-$s" "$rps" "$p99"
      done
    done
    if [ $system = grey ]; then
      failed=$(curl -sf "$url/metrics" | awk '/^grey_rpc_requests_total\{.*KV\/Range.*code=/ && !/code="OK"/ {sum += $2} END {print sum + 0}')
      ok=$(curl -sf "$url/metrics" | awk '/^grey_rpc_requests_total\{.*KV\/Range.*code="OK"/ {sum += $2} END {print sum + 0}')
      echo "grey round $round: $ok Range calls answered OK, $failed with an error status" >&2
      [ "$failed" = 0 ] || { echo "grey answered Ranges with errors; numbers are not valid" >&2; exit 1; }
    fi
    stop_all
  done
done

printf "%-11s %-8s %12s %12s %8s %11s %11s\n" range streams etcd_req/s grey_req/s ratio etcd_p99ms grey_p99ms
for query in one-key prefix-100; do
  for s in $LEVELS; do
    e=${BEST[etcd-$query-$s]:-0}; g=${BEST[grey-$query-$s]:-0}
    printf "%-11s %-8s %12s %12s %8s %11s %11s\n" "$query" "$s" "$e" "$g" \
      "$(awk "BEGIN{printf \"%.2f\", $g / ($e + 1e-9)}")" "${P99[etcd-$query-$s]:-nan}" "${P99[grey-$query-$s]:-nan}"
  done
done
