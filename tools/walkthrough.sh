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
ROOT=$PWD
# The docs name the binaries as a release build leaves them and the scripts by their path in the
# repository; here they are the build under test, so the commands run exactly as written.
mkdir -p "$WORK/.build/release"
ln -s "$ROOT/$BIN/greyd" "$WORK/.build/release/greyd"
ln -s "$ROOT/$BIN/greyctl" "$WORK/.build/release/greyctl"
ln -s "$ROOT/tools" "$WORK/tools"
cd "$WORK"
start_node() { # node -> its line from docs/OPERATIONS.md, "A cluster by hand"
  case $1 in
    0) GREY_NODE_ID=0 GREY_CLUSTER_PEERS=localhost:5001,localhost:5002 GREY_LISTEN_ADDR=localhost:5000 .build/release/greyd >>node0.log 2>&1 & ;;
    1) GREY_NODE_ID=1 GREY_CLUSTER_PEERS=localhost:5000,localhost:5002 GREY_LISTEN_ADDR=localhost:5001 .build/release/greyd >>node1.log 2>&1 & ;;
    2) GREY_NODE_ID=2 GREY_CLUSTER_PEERS=localhost:5000,localhost:5001 GREY_LISTEN_ADDR=localhost:5002 .build/release/greyd >>node2.log 2>&1 & ;;
  esac
  node_pid[$1]=$!
  pids+=($!)
}
wait_for_leader() { for _ in $(seq 1 150); do greyctl cluster leader >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }
# The README's `make cluster`: a release build, then tools/cluster.sh, here on the build under test.
(cd "$ROOT" && GREYD="$ROOT/$BIN/greyd" CLUSTER_DATA="$WORK/make-cluster" exec tools/cluster.sh) >make-cluster.out 2>&1 &
script=$!
wait_for_leader
# The script prints its banner once node 0 answers /health, which can be a moment after a
# leader is known (a clean-clone CI run checked the empty file in between).
for _ in $(seq 1 100); do grep -q '^Grey is running' make-cluster.out && break; sleep 0.1; done
out=$(greyctl cluster status 2>&1)
check "make cluster's script: three nodes and a leader" "$(grep -cE '^localhost:500[0-2] ' <<<"$out") $(cat make-cluster.out)" '^3 Grey is running: 3 nodes'
kill -TERM "$script"; wait "$script" 2>/dev/null
check "make cluster's script stops every node on a signal" "$(cat make-cluster.out)" 'stopped\. data kept in'
for port in 5000 5001 5002; do
  for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break; sleep 0.1; done
done

declare -a node_pid
for node in 0 1 2; do start_node $node; done
wait_for_leader

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
out=$(python3 "$ROOT/tools/metrics_check.py" "http://localhost:$leader_port/metrics" --leader 2>&1)
check "/metrics on the leader parses and has every promised metric" "$out" "metrics: [0-9]+ passed, 0 failed"
# promtool (Debian's prometheus) is the judge of the exposition format; show first that it
# fails a broken exposition, so a pass below means something.
broken=$(printf '# TYPE grey_requests counter\ngrey_requests 1\n' | promtool check metrics 2>&1); status=$?
check "promtool rejects a counter without _total or help" "$status $broken" "^[1-9].*_total"
out=$(curl -s "http://localhost:$leader_port/metrics" | promtool check metrics 2>&1); status=$?
check "promtool check metrics accepts the leader's /metrics" "$status $out" "^0 ?$"
out=$(python3 "$ROOT/tools/alerts_check.py" --metrics "http://localhost:$leader_port/metrics" 2>&1)
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

# The rest of docs/OPERATIONS.md's commands, as written (tools/docs_commands.py checks that every
# documented command is run here or by another test, or excused with the reason).
out=$(greyctl kv get test --prefix 2>&1)
check "greyctl kv get test --prefix" "$out" "^test-key test-value$"
out=$(greyctl bench --operation get --consistency lease --requests 50000 -o json 2>&1)
check "greyctl bench of lease reads" "$out" '"succeeded" *: *50000'
out=$(greyctl --trace kv put traced-key traced-value --endpoints 127.0.0.1:5001 2>&1 | tr '\n' '|')
check "greyctl --trace prints the trace id" "$out" '^trace id: [0-9a-f]{32}\|OK\|$'
export ETCDCTL_API=3 ETCDCTL_ENDPOINTS=127.0.0.1:5000,127.0.0.1:5001,127.0.0.1:5002
out=$(etcdctl get greeting --rev 2 2>&1); status=$?
check "etcdctl get --rev 2, before the key was written" "$status $out" '^0 ?$'
out=$(printf 'value("greeting") = "hello"\n\nput greeting hello-again\n\nput greeting never\n\n' | etcdctl txn -i 2>&1 | tr '\n' '|')
check "etcdctl txn -i takes the success branch" "$out" '^compares:.*SUCCESS\|\|OK\|$'
out=$(etcdctl member list -w table 2>&1)
check "etcdctl member list -w table" "$(grep -cE '\| +started +\| +node-[0-2] +\| +http://localhost:500[0-2]' <<<"$out")" '^3$'
out=$(etcdctl endpoint hashkv 2>&1)
check "etcdctl endpoint hashkv answers on every member" "$(grep -cE '^127.0.0.1:500[0-2], [0-9]+$' <<<"$out")" '^3$'
out=$(etcdctl move-leader 1 2>&1)
check "etcdctl move-leader 1" "$out" 'Leadership transferred from [0-9a-f]+ to 1|already'
out=$(etcdctl member add n3 --peer-urls=http://127.0.0.1:5003 --learner 2>&1)
# etcdctl prints both ids with %16x: space-padded, so an id below 2^60 has two spaces before it.
check "etcdctl member add --learner" "$out" '^Member +[0-9a-f]+ added to cluster +[0-9a-f]+'
learner=$(sed -n 's/^Member  *\([0-9a-f]*\) added.*/\1/p' <<<"$out")
[ -n "$learner" ] && etcdctl member remove "$learner" >/dev/null 2>&1   # it never started: take it out again

# "Changing membership": a fourth node joins, takes the lead, and is removed.
GREY_NODE_ID=3 GREY_JOIN=localhost:5000 GREY_LISTEN_ADDR=localhost:5003 .build/release/greyd >node3.log 2>&1 & pids+=($!)
for _ in $(seq 1 150); do [ "$(greyctl cluster members 2>/dev/null | grep -cE ' voter ')" = 4 ] && break; sleep 0.1; done
out=$(greyctl cluster members 2>&1)
check "greyctl cluster members: the joiner is a voter once caught up" "$(grep -cE ' voter ' <<<"$out")" '^4$'
out=$(greyctl cluster transfer-leader 3 2>&1)
check "greyctl cluster transfer-leader 3" "$out" 'node 3'
out=$(greyctl cluster remove-member 3 2>&1)
check "greyctl cluster remove-member 3" "$out" 'removed|^[0-2] '
wait_for_leader
out=$(greyctl cluster members 2>&1)
check "three members again" "$(grep -cE ' voter ' <<<"$out")" '^3$'

etcdctl put old/a 1 >/dev/null 2>&1; etcdctl put old/b 2 >/dev/null 2>&1   # revisions past 7
out=$(etcdctl compaction 5 2>&1)
check "etcdctl compaction 5" "$out" '^compacted revision 5$'
out=$(etcdctl compaction 7 --physical 2>&1)
check "etcdctl compaction 7 --physical" "$out" '^compacted revision 7$'

# "The space quota": the way back, on a cluster that is not full (each step still works).
out=$(etcdctl del --prefix old/ 2>&1)
check "etcdctl del --prefix old/" "$out" '^2$'
out=$(etcdctl compact "$(etcdctl get x -w json | python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["revision"])')" --physical 2>&1)
check "etcdctl compact at the current revision, physical" "$out" '^compacted revision [0-9]+$'
out=$(etcdctl defrag 2>&1)
check "etcdctl defrag on every member" "$(grep -c 'Finished defragmenting etcd member' <<<"$out")" '^3$'
out=$(greyctl alarm disarm 2>&1); status=$?
check "greyctl alarm disarm with nothing raised" "$status $out" '^0 ?$'
out=$(etcdctl get greeting --rev 2 2>&1); status=$?
check "a read below the compaction gets etcd's error" "$status $out" 'required revision has been compacted'

# "Snapshots, backup and restore".
out=$(greyctl snapshot create --output backup.snap 2>&1)
check "greyctl snapshot create" "$out" 'backup.snap'
out=$(greyctl snapshot restore --input backup.snap --data-dir ./data/new-0 2>&1)
check "greyctl snapshot restore into a new directory" "$out" 'data/new-0'
curl -s localhost:5000/snapshot > backup.snap
check "curl /snapshot saves the same stream" "$(python3 -c 'import os; print(os.path.getsize("backup.snap") > 0)')" '^True$'

# "Repair and quarantine": node 1 stopped, rebuilt from the leader, started as before.
kill -TERM "${node_pid[1]}"; wait "${node_pid[1]}" 2>/dev/null
wait_for_leader
out=$(greyctl repair --data-dir ./data/node-1 --endpoints localhost:5000 2>&1)
check "greyctl repair --data-dir ./data/node-1" "$out" 'node-1'
start_node 1
for _ in $(seq 1 200); do [ "$(greyctl cluster members 2>/dev/null | grep -cE ' voter ')" = 3 ] && break; sleep 0.1; done
out=$(greyctl consensus read test-key --endpoints localhost:5001 2>&1)
check "the repaired node serves again" "$out" '^test-value$'

# "TLS and mutual TLS": the certificates, made as the docs make them.
tools/make-certs.sh certs node0=IP:10.0.0.1,DNS:grey-0 node1=IP:10.0.0.2,DNS:grey-1 node2=IP:10.0.0.3,DNS:grey-2 operator=DNS:operator >/dev/null 2>&1
check "tools/make-certs.sh" "$(ls certs 2>&1 | tr '\n' ' ')" 'ca.pem .*node0.pem .*operator.key'
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 -subj "/CN=Grey cluster CA" -keyout ca.key -out ca.pem 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=node0" -keyout node0.key -out node0.csr 2>/dev/null
openssl x509 -req -in node0.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 825 -out node0.pem -extfile <(printf "subjectAltName=IP:10.0.0.1,DNS:grey-0\nextendedKeyUsage=serverAuth,clientAuth\n") 2>/dev/null
out=$(openssl verify -CAfile ca.pem node0.pem 2>&1)
check "the certificate made by hand chains to its CA" "$out" 'node0.pem: OK'

# The check bites: a page showing a command no test runs fails it (the command is made at run
# time, so this script's own text does not count as running it).
printf '```sh\ngreyctl frob%s --everything\n```\n' nicate > unrun.md
out=$(python3 "$ROOT/tools/docs_commands.py" --docs unrun.md 2>&1); status=$?
check "the docs check fails a documented command no test runs" "$status $out" '^1 NOT RUN .*unrun.md: greyctl frob.icate --everything'
out=$(python3 "$ROOT/tools/docs_commands.py" 2>&1)
check "every command in the README and docs/ is run by a test or excused" "$out" ' 0 neither, 0 stale'
echo "walkthrough: $passed passed, $failed failed"
[ "$failed" = 0 ]
