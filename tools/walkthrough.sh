#!/usr/bin/env bash
# The README's first steps and docs/OPERATIONS.md's three-terminal cluster, typed as a newcomer
# types them (ports 5000-5002),
# with each command's output checked. Run by `make test`; BIN picks the build (default debug).
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/debug}
WORK=$(mktemp -d -t grey-walkthrough.XXXXXX)
export PATH="$PWD/$BIN:$PATH"
passed=0
failed=0
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
check() { # name, command output, pattern
  if grep -qE -- "$3" <<<"$2"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL $1: expected /$3/ in:"; echo "$2"; fi
}
for port in 5000 5001 5002; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "walkthrough: port $port is in use; stop what listens there"; exit 1; fi
done
cd "$WORK"
GREY_NODE_ID=0 GREY_CLUSTER_PEERS=localhost:5001,localhost:5002 GREY_LISTEN_ADDR=localhost:5000 greyd >node0.log 2>&1 & pids+=($!)
GREY_NODE_ID=1 GREY_CLUSTER_PEERS=localhost:5000,localhost:5002 GREY_LISTEN_ADDR=localhost:5001 greyd >node1.log 2>&1 & pids+=($!)
GREY_NODE_ID=2 GREY_CLUSTER_PEERS=localhost:5000,localhost:5001 GREY_LISTEN_ADDR=localhost:5002 greyd >node2.log 2>&1 & pids+=($!)
for _ in $(seq 1 100); do greyctl cluster leader >/dev/null 2>&1 && break; sleep 0.1; done

out=$(greyctl cluster status 2>&1)
check "cluster status shows a leader" "$out" "leader"
check "cluster status lists three nodes" "$(grep -cE '^localhost:500[0-2] ' <<<"$out")" "^3$"
out=$(greyctl consensus write test-key test-value 2>&1)
check "consensus write" "$out" "^OK$"
for port in 5000 5001 5002; do
  out=$(greyctl consensus read test-key --endpoints localhost:$port 2>&1)
  check "consensus read on $port" "$out" "^test-value$"
done
# The options every command shares go before the subcommand too, as etcdctl users type them.
out=$(greyctl --endpoints localhost:5001 -o json cluster leader 2>&1)
check "shared options before the subcommand" "$out" '"address" *: *"localhost:500[0-2]"'
out=$(greyctl --timeout=1m30s consensus read test-key 2>&1)
check "--timeout as etcdctl writes it (1m30s)" "$out" "^test-value$"
out=$(greyctl consensus read test-key --timeout 5 2>&1); status=$?
check "--timeout without a unit is refused, not guessed" "$status $out" "^64 Error: --timeout '5' is not a duration"
out=$(greyctl --cacert /no/such/ca.pem cluster status 2>&1); status=$?
check "a missing --cacert is an error, never a quiet fall back to cleartext" "$status $out" "^1 greyctl: .*no/such/ca.pem"
for binary in greyd greyctl; do
  out=$($binary --version 2>&1)
  check "$binary --version" "$out" '^[0-9]+\.[0-9]+\.[0-9]+$'
done
out=$(greyctl cluster log-status 2>&1)
check "log-status has commit and last log index" "$out" "COMMIT +LAST LOG"
out=$(greyctl cluster replication 2>&1)
check "cluster replication shows both followers replicating" "$(grep -cE '^[0-2] +localhost:500[0-2] +voter .* replicate ' <<<"$out")" "^2$"
out=$(greyctl cluster leader 2>&1)
check "cluster leader" "$out" "^leader: node [0-2] at localhost:500[0-2]"
out=$(greyctl kv get no-such-key 2>&1); status=$?
check "missing key is one line, non-zero" "$status $out" "^1 greyctl: key not found: no-such-key$"
out=$(greyctl kv get test-key --endpoints localhost:5003 2>&1); status=$?
check "refused connection is one line, non-zero" "$status $out" "^1 greyctl: connection refused to localhost:5003$"
leader_port=$(greyctl cluster leader -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["address"].split(":")[1])')
out=$(python3 "$OLDPWD/tools/metrics_check.py" "http://localhost:$leader_port/metrics" --leader 2>&1)
check "/metrics on the leader parses and has every promised metric" "$out" "metrics: [0-9]+ passed, 0 failed"
# promtool (Debian's prometheus) is the judge of the exposition format; show first that it
# fails a broken exposition, so a pass below means something.
broken=$(printf '# TYPE grey_requests counter\ngrey_requests 1\n' | promtool check metrics 2>&1); status=$?
check "promtool rejects a counter without _total or help" "$status $broken" "^[1-9].*_total"
out=$(curl -s "http://localhost:$leader_port/metrics" | promtool check metrics 2>&1); status=$?
check "promtool check metrics accepts the leader's /metrics" "$status $out" "^0 ?$"
out=$(python3 "$OLDPWD/tools/alerts_check.py" --metrics "http://localhost:$leader_port/metrics" 2>&1)
check "alert rules: promtool accepts and tests them, each alert's test bites, every metric they name is served" "$out" "alerts: [0-9]+ passed, 0 failed"
follower_port=$(for port in 5000 5001 5002; do [ "$port" != "$leader_port" ] && echo $port && break; done)
out=$(curl -s "http://localhost:$follower_port/metrics" | promtool check metrics 2>&1); status=$?
check "promtool check metrics accepts a follower's /metrics" "$status $out" "^0 ?$"
# The README's "Try it" and docs/OPERATIONS.md's etcd section: etcdctl against the same cluster.
export ETCDCTL_API=3 ETCDCTL_ENDPOINTS=localhost:5000,localhost:5001,localhost:5002
out=$(etcdctl put greeting hello 2>&1)
check "etcdctl put" "$out" "^OK$"
out=$(etcdctl get greeting 2>&1 | tr '\n' '|')
check "etcdctl get" "$out" '^greeting\|hello\|$'
out=$(etcdctl get gr --prefix -w json 2>&1)
check "etcdctl get --prefix -w json" "$out" '"header":\{"cluster_id":[0-9]+,("member_id":[0-9]+,)?"revision":[0-9]+,"raft_term":[0-9]+\},"kvs":\[\{"key":"Z3JlZXRpbmc="'
out=$(greyctl kv get greeting 2>&1)
check "greyctl reads what etcdctl wrote" "$out" "hello"
etcdctl put greet2 hi >/dev/null 2>&1
out=$(greyctl kv get gree --prefix 2>&1 | tr '\n' '|')
check "greyctl kv get --prefix: every key under it, in order" "$out" '^greet2 hi\|greeting hello\|$'
out=$(greyctl kv get gree --prefix --limit 1 2>&1 | tr '\n' '|')
check "greyctl kv get --prefix --limit" "$out" '^greet2 hi\|\.\.\. 1 more \(raise --limit\)\|$'
rev=$(etcdctl get greeting -w json | python3 -c 'import json,sys; print(json.load(sys.stdin)["kvs"][0]["mod_revision"])')
out=$(greyctl kv get greeting --rev "$rev" 2>&1)
check "greyctl kv get --rev" "$out" '^hello$'
out=$(greyctl kv get greeting --rev 1 2>&1); status=$?
check "greyctl kv get --rev before the key existed" "$status $out" '^1 greyctl: key not found at revision 1: greeting$'
out=$(etcdctl endpoint status -w table 2>&1)
check "etcdctl endpoint status" "$out" "3.4.0\+grey"
echo "walkthrough: $passed passed, $failed failed"
[ "$failed" = 0 ]
