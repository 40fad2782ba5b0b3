#!/usr/bin/env bash
# Starts a local 3-node Grey cluster on localhost:5000-5002 (make cluster), prints how to
# talk to it, and stops every node cleanly on Ctrl-C. Data and logs: data/cluster/ (CLUSTER_DATA).
set -euo pipefail
cd "$(dirname "$0")/.."
GREYD=${GREYD:-.build/release/greyd}
DATA=${CLUSTER_DATA:-data/cluster}
mkdir -p "$DATA"
pids=()
stop() {
  echo
  echo "stopping the cluster..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "stopped. data kept in $DATA (rm -rf $DATA for a fresh cluster)"
}
trap stop EXIT INT TERM
for i in 0 1 2; do
  peers=""
  for j in 0 1 2; do [ "$j" != "$i" ] && peers="${peers:+$peers,}localhost:500$j"; done
  GREY_NODE_ID=$i GREY_CLUSTER_PEERS=$peers GREY_LISTEN_ADDR=localhost:500$i GREY_DATA_DIR=$DATA/node-$i \
    "$GREYD" >>"$DATA/node-$i.log" 2>&1 &
  pids+=($!)
done
for _ in $(seq 1 100); do
  if curl -sf localhost:5000/health >/dev/null 2>&1; then break; fi
  sleep 0.1
done
cat <<TXT
Grey is running: 3 nodes on localhost:5000, localhost:5001, localhost:5002 (logs in $DATA/).

  curl -s localhost:5000/status
  curl -s -XPOST localhost:5001/put -d '{"key":"test-key","value":"test-value"}'
  curl -s 'localhost:5002/get?key=test-key'
  curl -s 'localhost:5002/get?key=test-key&consistency=stale'

gRPC clients: any language, generated from Protos/grey/v1/*.proto, at any of the three addresses.
Ctrl-C stops the cluster.
TXT
wait
