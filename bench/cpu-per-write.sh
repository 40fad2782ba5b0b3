#!/usr/bin/env bash
# CPU per write: each node's CPU time (user + system, from /proc) over a run of etcd-API Puts,
# divided by the writes, beside the req/s and how idle the machine was. Where a system is slow
# with CPU to spare, it waits on something; where the machine is busy, CPU per write decides.
#
# usage: bench/cpu-per-write.sh [GREYD_BINARY]   (from the project root; default .build/release/greyd)
# env:   SYSTEMS (default "etcd grey"), LEVELS (default "1 64 1024"), REQUESTS (default 30000; a
#        tenth at one stream), VALUE_SIZE (default 256), OP (default put; range: etcd-API
#        linearizable Ranges of the key the warm-up wrote, and the columns are per Range)
set -euo pipefail
GREYD=$(readlink -f "${1:-.build/release/greyd}")
SYSTEMS=${SYSTEMS:-"etcd grey"}
LEVELS=${LEVELS:-"1 64 1024"}
REQUESTS=${REQUESTS:-30000}
VALUE_SIZE=${VALUE_SIZE:-256}
OP=${OP:-put}
case "$OP" in put) METHOD=Put ;; range) METHOD=Range ;; *) echo "OP must be put or range" >&2; exit 2 ;; esac
for tool in etcd etcdctl h2load python3 curl; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y etcd-server etcd-client nghttp2-client curl" >&2; exit 2; }
done
WORK=$(mktemp -d -t cpu-per-write.XXXXXX)
PIDS=()
. "$(dirname "$0")/lib.sh"
trap 'stop_all; rm -rf "$WORK"' EXIT
grpc_body "$WORK/put.bin" "1:b:bench-key-0001" "2:b:$(head -c "$VALUE_SIZE" /dev/zero | tr '\0' v)"
grpc_body "$WORK/range.bin" "1:b:bench-key-0001"

cpu_ticks() { for p in "${PIDS[@]}"; do awk '{print $14 + $15}' "/proc/$p/stat"; done; }
machine() { awk '/^cpu /{print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8}' /proc/stat; }
hz=$(getconf CLK_TCK)

printf "%-6s %7s %9s %12s %14s %12s %8s\n" system streams req/s leader_us/w followers_us/w total_us/w idle%
for system in $SYSTEMS; do
  for s in $LEVELS; do
    n=$REQUESTS; [ "$s" = 1 ] && n=$((REQUESTS / 10))
    rm -rf "$WORK"/grey? "$WORK"/etcd?
    # Not $(...): PIDS must survive (a subshell loses them).
    if [ "$system" = etcd ]; then etcd_start >"$WORK/url"; else grey_start >"$WORK/url"; fi
    url=$(cat "$WORK/url")/etcdserverpb.KV/Put
    leader_port=${url#http://127.0.0.1:}; leader_port=${leader_port%%/*}
    h2load_run "$url" "$WORK/put.bin" 2000 "$s" >/dev/null   # warm up: connections, caches
    before=($(cpu_ticks)); read -r idle0 all0 < <(machine)
    read -r rps _ fails < <(h2load_run "${url%/Put}/$METHOD" "$WORK/$OP.bin" "$n" "$s")
    after=($(cpu_ticks)); read -r idle1 all1 < <(machine)
    [ "$fails" = 0 ] || echo "$system at $s streams: $fails failed requests" >&2
    # Which process leads: the one listening on the leader's port (etcd 12379/22379/32379 -> 0/1/2).
    if [ "$system" = etcd ]; then leader=$(( ${leader_port:0:1} - 1 )); else leader=$(( leader_port - 5000 )); fi
    lead=0; rest=0
    for i in 0 1 2; do
      us=$(( (after[i] - before[i]) * 1000000 / hz ))
      if [ "$i" = "$leader" ]; then lead=$us; else rest=$((rest + us)); fi
    done
    printf "%-6s %7s %9.0f %12.1f %14.1f %12.1f %8.0f\n" "$system" "$s" "$rps" \
      "$(awk "BEGIN{print $lead / $n}")" "$(awk "BEGIN{print $rest / $n / 2}")" "$(awk "BEGIN{print ($lead + $rest) / $n}")" \
      "$(awk "BEGIN{print 100 * ($idle1 - $idle0) / ($all1 - $all0)}")"
    stop_all; sleep 1
  done
done
