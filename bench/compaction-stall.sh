#!/usr/bin/env bash
# What a compaction costs the writes around it: VERSIONS Puts of one key (one long history),
# then a one-stream writer for 6 s with `etcdctl compaction` of all but the newest revision 2 s
# in. Prints how long the Compact call took and the writer's latencies (p50, p99, max): a
# compaction that holds up the apply shows as a long stall, and on a long enough history, an
# election (the term printed after).
#
# usage: bench/compaction-stall.sh [GREYD_BINARY]   (from the project root; default .build/release/greyd)
# env:   SYSTEMS (default "etcd grey"), VERSIONS (default 200000)
set -euo pipefail
GREYD=$(readlink -f "${1:-.build/release/greyd}")
SYSTEMS=${SYSTEMS:-"etcd grey"}
VERSIONS=${VERSIONS:-200000}
for tool in etcd etcdctl h2load python3 curl; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y etcd-server etcd-client nghttp2-client curl" >&2; exit 2; }
done
WORK=$(mktemp -d -t compaction-stall.XXXXXX)
PIDS=()
. "$(dirname "$0")/lib.sh"
trap 'stop_all; rm -rf "$WORK"' EXIT
grpc_body "$WORK/put.bin" "1:b:hot-key" "2:b:$(head -c 100 /dev/zero | tr '\0' v)"

for system in $SYSTEMS; do
  rm -rf "$WORK"/grey? "$WORK"/etcd?
  # Not $(...): PIDS must survive (a subshell loses them).
  if [ "$system" = etcd ]; then etcd_start >"$WORK/url"; else grey_start >"$WORK/url"; fi
  base=$(cat "$WORK/url")
  endpoint=${base#http://}
  h2load_run "$base/etcdserverpb.KV/Put" "$WORK/put.bin" "$VERSIONS" 256 >/dev/null
  revision=$(ETCDCTL_API=3 etcdctl --endpoints="$endpoint" get hot-key -w json | python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["revision"])')
  rm -f "$WORK/writer.log"
  h2load -D 6 -c 1 -m 1 -d "$WORK/put.bin" -H 'content-type: application/grpc' -H 'te: trailers' \
    --log-file="$WORK/writer.log" "$base/etcdserverpb.KV/Put" >/dev/null 2>&1 &
  writer=$!
  sleep 2
  started=$(date +%s%N)
  ETCDCTL_API=3 etcdctl --endpoints="$endpoint" compaction $((revision - 1)) >/dev/null
  took=$(( ($(date +%s%N) - started) / 1000000 ))
  wait $writer || true
  term=$(ETCDCTL_API=3 etcdctl --endpoints="$endpoint" endpoint status -w json | python3 -c 'import json,sys; s=json.load(sys.stdin)[0]["Status"]; print(s.get("raftTerm", s.get("raft_term", s["header"].get("raft_term"))))')
  python3 - "$WORK/writer.log" "$system" "$VERSIONS" "$took" "$term" <<'PY'
import sys
lat = sorted(int(l.split()[2]) / 1000 for l in open(sys.argv[1]) if l.strip())
print("%-5s compaction of %s versions: the call %s ms; writer %d puts, p50 %.2f ms, p99 %.1f ms, max %.1f ms; raft term after %s"
      % (sys.argv[2], sys.argv[3], sys.argv[4], len(lat), lat[len(lat) // 2], lat[int(len(lat) * 0.99)], lat[-1], sys.argv[5]))
PY
  stop_all; sleep 1
done
