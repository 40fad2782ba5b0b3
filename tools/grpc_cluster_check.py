#!/usr/bin/env python3
"""A stock grpcio client, generated from Protos/ at run time, against a real Grey cluster:
every KV call through a follower and through the leader, each read consistency, the error
statuses a client meets, cluster status, and many concurrent calls.

  grpc_cluster_check.py HOST:PORT,HOST:PORT,...   (every node of a running cluster)

Unlike grpc_client_check.py (which checks the wire layer against test services), the answers
here come from Raft and RocksDB. Prints one line per failed check and a closing
'N passed, N failed' line.
"""
import concurrent.futures
import sys
import time

import grpc

from grey_proto import load
from grpc_checks import check, expect_status, results

kv, cl, kv_grpc, cl_grpc = load()


def main():
    targets = sys.argv[1].split(",")
    channels = [grpc.insecure_channel(t, options=[("grpc.max_send_message_length", 16 << 20)]) for t in targets]
    for channel in channels:
        grpc.channel_ready_future(channel).result(timeout=30)
    # Every node names the same leader (retried briefly: an election may be finishing).
    deadline = time.time() + 10
    while True:
        statuses = [cl_grpc.ClusterServiceStub(c).GetClusterStatus(cl.GetClusterStatusRequest(), timeout=5) for c in channels]
        leaders = {s.leader_id if s.has_leader else None for s in statuses}
        if (len(leaders) == 1 and None not in leaders) or time.time() > deadline:
            break
        time.sleep(0.1)
    check("one leader", len(leaders) == 1 and None not in leaders, str(leaders))
    leader_id = leaders.pop() if leaders else 0
    leader = next(i for i, s in enumerate(statuses) if s.node_id == leader_id)
    follower = next(i for i, s in enumerate(statuses) if s.node_id != leader_id)
    status = statuses[leader]
    check("status members", len(status.members) == len(targets)
          and sum(1 for m in status.members if m.state == cl.MEMBER_STATE_LEADER) == 1
          and all(m.role == cl.MEMBER_ROLE_VOTER and m.address for m in status.members), str(status))
    via_follower = kv_grpc.KVStub(channels[follower])
    via_leader = kv_grpc.KVStub(channels[leader])

    # Writes through a follower are forwarded; the header names the leader.
    put = via_follower.Put(kv.PutRequest(key=b"py-key", value=b"py-value"), timeout=5)
    check("put via follower", put.header.has_leader and put.header.applied_index > 0, str(put))
    for name, level in [("linearizable", kv.READ_CONSISTENCY_LINEARIZABLE), ("lease", kv.READ_CONSISTENCY_LEASE)]:
        got = via_follower.Get(kv.GetRequest(key=b"py-key", consistency=level), timeout=5)
        check(f"{name} get via follower", got.found and got.value == b"py-value", str(got))
    # A stale read answers from the node asked: wait until the follower has applied the put.
    deadline = time.time() + 10
    stale = None
    while time.time() < deadline:
        stale = via_follower.Get(kv.GetRequest(key=b"py-key", consistency=kv.READ_CONSISTENCY_STALE), timeout=5)
        if stale.found:
            break
        time.sleep(0.05)
    check("stale get on the follower", stale is not None and stale.found and stale.value == b"py-value"
          and stale.header.node_id == statuses[follower].node_id, str(stale))
    check("get missing", not via_leader.Get(kv.GetRequest(key=b"absent"), timeout=5).found)
    cas = via_follower.CompareAndSwap(kv.CompareAndSwapRequest(key=b"py-key", expected_value=b"wrong", new_value=b"x"), timeout=5)
    check("cas mismatch", not cas.succeeded and cas.current_found and cas.current_value == b"py-value", str(cas))
    cas = via_follower.CompareAndSwap(kv.CompareAndSwapRequest(key=b"py-key", expected_value=b"py-value", new_value=b"swapped"), timeout=5)
    check("cas match", cas.succeeded, str(cas))
    cas = via_leader.CompareAndSwap(kv.CompareAndSwapRequest(key=b"py-new", expect_absent=True, new_value=b"fresh"), timeout=5)
    check("cas absent", cas.succeeded and not cas.current_found, str(cas))
    check("delete", via_follower.Delete(kv.DeleteRequest(key=b"py-key"), timeout=5).deleted)
    check("delete again", not via_leader.Delete(kv.DeleteRequest(key=b"py-key"), timeout=5).deleted)
    big = bytes(range(256)) * (3 << 12)  # 3 MiB
    via_follower.Put(kv.PutRequest(key=b"big", value=big), timeout=10)
    check("3 MiB value", via_leader.Get(kv.GetRequest(key=b"big"), timeout=10).value == big)

    # Errors a client meets, from the real services.
    expect_status("empty key", grpc.StatusCode.INVALID_ARGUMENT, lambda: via_follower.Put(kv.PutRequest(key=b""), timeout=5), "key")
    expect_status("oversized", grpc.StatusCode.RESOURCE_EXHAUSTED,
                  lambda: via_leader.Put(kv.PutRequest(key=b"huge", value=b"x" * (5 << 20)), timeout=5))
    raw = lambda path: channels[follower].unary_unary(path, request_serializer=lambda b: b, response_deserializer=lambda b: b)
    expect_status("unknown method", grpc.StatusCode.UNIMPLEMENTED, lambda: raw("/grey.v1.KV/Scan")(b"", timeout=5), "/grey.v1.KV/Scan")
    expect_status("invalid protobuf", grpc.StatusCode.INVALID_ARGUMENT, lambda: raw("/grey.v1.KV/Put")(b"\x0a\x7f\x01", timeout=5))
    expect_status("unknown enum", grpc.StatusCode.INVALID_ARGUMENT, lambda: raw("/grey.v1.KV/Get")(b"\x0a\x01k\x10\x09", timeout=5),
                  "consistency")
    expect_status("leave unknown member", grpc.StatusCode.NOT_FOUND,
                  lambda: cl_grpc.ClusterServiceStub(channels[follower]).LeaveCluster(cl.LeaveClusterRequest(node_id=99), timeout=5),
                  "no such member 99")

    # Many concurrent calls from a stock client, spread over every node.
    stubs = [kv_grpc.KVStub(c) for c in channels]
    with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
        futures = [pool.submit(stubs[i % len(stubs)].Put, kv.PutRequest(key=b"c%d" % i, value=b"v%d" % i), timeout=30) for i in range(500)]
        # Every put answered by a node that knew a leader (leadership may move meanwhile on a busy machine).
        done = sum(1 for f in futures if f.result().header.has_leader)
    check("500 concurrent puts", done == 500, f"{done} of 500")
    got = [via_leader.Get(kv.GetRequest(key=b"c%d" % i), timeout=5).value for i in (0, 250, 499)]
    check("concurrent puts read back", got == [b"v0", b"v250", b"v499"], str(got))

    for channel in channels:
        channel.close()
    print(f"grpcio client against a real cluster: {results['passed']} passed, {results['failed']} failed")
    sys.exit(1 if results["failed"] else 0)


if __name__ == "__main__":
    main()
