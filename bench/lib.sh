# Shared by the bench/ scripts: start 3-node etcd and Grey clusters on loopback (fsync on),
# find their leaders, drive h2load with a fixed gRPC body and read its numbers.
# Expects WORK (scratch dir) and GREYD (binary); adds to PIDS.

wait_port() { for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened" >&2; return 1; }

# A gRPC-framed protobuf body from "field:type:value" triples (type b=bytes, v=varint).
grpc_body() { # out field:type:value...
  python3 - "$@" <<'PY'
import struct, sys
def varint(n):
    out = b""
    while True:
        b = n & 0x7f; n >>= 7
        out += bytes([b | (0x80 if n else 0)])
        if not n: return out
msg = b""
for spec in sys.argv[2:]:
    field, kind, value = spec.split(":", 2)
    field = int(field)
    if kind == "b":
        data = value.encode()
        msg += varint(field << 3 | 2) + varint(len(data)) + data
    else:
        msg += varint(field << 3) + varint(int(value))
open(sys.argv[1], "wb").write(b"\x00" + struct.pack(">I", len(msg)) + msg)
PY
}

etcd_start() { # -> prints the leader's client URL
  local cl="e0=http://127.0.0.1:12380,e1=http://127.0.0.1:22380,e2=http://127.0.0.1:32380"
  for i in 0 1 2; do
    local n=$((i + 1))
    etcd --name e$i --data-dir "$WORK/etcd$i" --listen-client-urls http://127.0.0.1:${n}2379 \
      --advertise-client-urls http://127.0.0.1:${n}2379 --listen-peer-urls http://127.0.0.1:${n}2380 \
      --initial-advertise-peer-urls http://127.0.0.1:${n}2380 --initial-cluster "$cl" \
      --initial-cluster-state new --log-level error >"$WORK/etcd$i.log" 2>&1 &
    PIDS+=($!)
  done
  for n in 1 2 3; do wait_port ${n}2379; done
  for _ in $(seq 1 100); do
    for n in 1 2 3; do
      if ETCDCTL_API=3 etcdctl --endpoints=127.0.0.1:${n}2379 endpoint status -w json 2>/dev/null \
          | python3 -c 'import json,sys; s=json.load(sys.stdin)[0]["Status"]; sys.exit(0 if s["leader"]==s["header"]["member_id"] else 1)'; then
        echo "http://127.0.0.1:${n}2379"; return 0
      fi
    done
    sleep 0.1
  done
  echo "etcd elected no leader" >&2; return 1
}

grey_start() { # [extra env...] -> prints the leader's URL
  for i in 0 1 2; do
    local peers=""
    for j in 0 1 2; do [ $j != $i ] && peers="${peers:+$peers,}127.0.0.1:$((5000 + j))"; done
    env GREY_NODE_ID=$i GREY_LISTEN_ADDR=127.0.0.1:$((5000 + i)) GREY_CLUSTER_PEERS=$peers \
      GREY_DATA_DIR="$WORK/grey$i" GREY_LOG_LEVEL=error "$@" "$GREYD" >"$WORK/grey$i.log" 2>&1 &
    PIDS+=($!)
  done
  for i in 0 1 2; do wait_port $((5000 + i)); done
  grey_leader
}

grey_leader() { # -> the URL of the node every node agrees leads
  for _ in $(seq 1 100); do
    for i in 0 1 2; do
      if curl -sf "http://127.0.0.1:$((5000 + i))/status" 2>/dev/null \
          | python3 -c 'import json,sys; s=json.load(sys.stdin); sys.exit(0 if s["has_leader"] and s["leader_id"]==s["node_id"] else 1)'; then
        echo "http://127.0.0.1:$((5000 + i))"; return 0
      fi
    done
    sleep 0.1
  done
  echo "grey elected no leader" >&2; return 1
}

# h2load with one connection per 64 streams (at most 16): prints "req/s p99_ms failures".
h2load_run() { # url body requests streams
  local url=$1 body=$2 n=$3 s=$4 c m
  c=$(( s < 16 ? s : 16 )); m=$(( (s + c - 1) / c ))
  rm -f "$WORK/h2load.log"
  h2load -n "$n" -c "$c" -m "$m" -d "$body" -H 'content-type: application/grpc' -H 'te: trailers' \
    --log-file="$WORK/h2load.log" "$url" >"$WORK/h2load.out" 2>&1 || true
  python3 - "$WORK/h2load.out" "$WORK/h2load.log" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
rps = re.search(r"finished in [\d.]+m?s, ([\d.]+) req/s", t)
ok = re.search(r"(\d+) succeeded, (\d+) failed, (\d+) errored", t)
lat = sorted(int(l.split()[2]) for l in open(sys.argv[2]) if l.strip())
p99 = lat[int(len(lat) * 0.99)] / 1000.0 if lat else float("nan")
print(rps.group(1) if rps else "0", "%.2f" % p99, int(ok.group(2)) + int(ok.group(3)) if ok else -1)
PY
}

stop_all() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; PIDS=(); }
