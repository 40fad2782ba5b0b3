#!/usr/bin/env python3
"""A stock grpcio client, generated from Protos/ at run time, calling every method of a Grey
RPC server and checking the replies, including error statuses.

  grpc_client_check.py HOST:PORT

Expects the test services of Tests/GreyRPCTests/TestServices.swift behind the address.
Prints one line per failed check and a closing 'N passed, N failed' line.
"""
import concurrent.futures
import sys

import grpc

from grey_proto import load
from grpc_checks import check, expect_status, results

kv, cl, kv_grpc, cl_grpc = load()


def main():
    target = sys.argv[1]
    channel = grpc.insecure_channel(target, options=[("grpc.max_send_message_length", 16 << 20)])
    grpc.channel_ready_future(channel).result(timeout=10)
    kvs = kv_grpc.KVStub(channel)
    cluster = cl_grpc.ClusterServiceStub(channel)

    # KV
    put = kvs.Put(kv.PutRequest(key=b"py-key", value=b"py-value"))
    check("put header", put.header.has_leader and put.header.node_id == 4 and put.header.term == 3, str(put))
    got = kvs.Get(kv.GetRequest(key=b"py-key", consistency=kv.READ_CONSISTENCY_LEASE))
    check("get found", got.found and got.value == b"py-value", str(got))
    check("get missing", not kvs.Get(kv.GetRequest(key=b"absent")).found)
    cas = kvs.CompareAndSwap(kv.CompareAndSwapRequest(key=b"py-key", expected_value=b"wrong", new_value=b"x"))
    check("cas mismatch", not cas.succeeded and cas.current_found and cas.current_value == b"py-value", str(cas))
    cas = kvs.CompareAndSwap(kv.CompareAndSwapRequest(key=b"py-new", expect_absent=True, new_value=b"fresh"))
    check("cas absent", cas.succeeded and not cas.current_found, str(cas))
    check("delete", kvs.Delete(kv.DeleteRequest(key=b"py-key")).deleted)
    check("delete again", not kvs.Delete(kv.DeleteRequest(key=b"py-key")).deleted)
    big = bytes(range(256)) * (3 << 12)  # 3 MiB
    kvs.Put(kv.PutRequest(key=b"big", value=big))
    check("3 MiB value", kvs.Get(kv.GetRequest(key=b"big", consistency=kv.READ_CONSISTENCY_STALE)).value == big)

    # KV errors
    expect_status("empty key", grpc.StatusCode.INVALID_ARGUMENT, lambda: kvs.Put(kv.PutRequest(key=b"")), "key must not be empty")
    expect_status("no quorum", grpc.StatusCode.UNAVAILABLE, lambda: kvs.Get(kv.GetRequest(key=b"unavailable")), "quorum not available")
    expect_status("oversized", grpc.StatusCode.RESOURCE_EXHAUSTED,
                  lambda: kvs.Put(kv.PutRequest(key=b"huge", value=b"x" * (5 << 20))))
    expect_status("deadline", grpc.StatusCode.DEADLINE_EXCEEDED, lambda: kvs.Get(kv.GetRequest(key=b"slow"), timeout=0.3))
    raw = lambda path: channel.unary_unary(path, request_serializer=lambda b: b, response_deserializer=lambda b: b)
    expect_status("unknown method", grpc.StatusCode.UNIMPLEMENTED, lambda: raw("/grey.v1.KV/Scan")(b""), "/grey.v1.KV/Scan")
    expect_status("unknown service", grpc.StatusCode.UNIMPLEMENTED, lambda: raw("/other.Service/Call")(b""))
    expect_status("invalid protobuf", grpc.StatusCode.INVALID_ARGUMENT, lambda: raw("/grey.v1.KV/Put")(b"\x0a\x7f\x01"), "PutRequest")
    expect_status("unknown enum", grpc.StatusCode.INVALID_ARGUMENT,
                  lambda: raw("/grey.v1.KV/Get")(b"\x0a\x01k\x10\x09"), "consistency")

    # ClusterService: each reply is derived from the request fields.
    vote = cluster.RequestVote(cl.RequestVoteRequest(term=8, candidate_id=1, last_log_index=5, last_log_term=2, pre_vote=True))
    check("request vote", vote.term == 8 and vote.vote_granted and vote.pre_vote and vote.voter_id == 4, str(vote))
    entries = [cl.Entry(term=2, index=10 + i, type=cl.ENTRY_TYPE_COMMAND, data=bytes([i]) * 256) for i in range(1, 65)]
    append = cluster.AppendEntries(cl.AppendEntriesRequest(term=2, leader_id=1, prev_log_index=10, prev_log_term=2,
                                                           entries=entries, leader_commit=9, read_context=77))
    check("append entries", append.success and append.match_index == 74 and append.conflict_index == 64 * 256
          and append.last_log_index == 74 and append.read_context == 77 and append.follower_id == 4, str(append))
    snap = cluster.InstallSnapshot(cl.InstallSnapshotRequest(
        term=2, leader_id=1, configuration=cl.Configuration(members=[cl.Member(id=1), cl.Member(id=2), cl.Member(id=3)]),
        offset=1 << 20, data=b"s" * (1 << 20), done=False, chunk_crc32c=1, total_size=4 << 20))
    check("install snapshot", snap.next_offset == 2 << 20 and not snap.installed and snap.follower_id == 3, str(snap))
    check("timeout now", cluster.TimeoutNow(cl.TimeoutNowRequest(term=5, leader_id=1)).term == 6)
    joined = cluster.JoinCluster(cl.JoinClusterRequest(node_id=9, address="127.0.0.1:5009", as_learner=True, join_token="let-me-in"))
    check("join", joined.members[-1].id == 9 and joined.members[-1].role == cl.MEMBER_ROLE_LEARNER
          and joined.members[-1].address == "127.0.0.1:5009", str(joined))
    expect_status("join token", grpc.StatusCode.PERMISSION_DENIED,
                  lambda: cluster.JoinCluster(cl.JoinClusterRequest(node_id=9, join_token="guess")), "wrong join token")
    check("leave", [m.id for m in cluster.LeaveCluster(cl.LeaveClusterRequest(node_id=9)).members] == [4])
    expect_status("leave leader", grpc.StatusCode.FAILED_PRECONDITION,
                  lambda: cluster.LeaveCluster(cl.LeaveClusterRequest(node_id=4)), "without force")
    status = cluster.GetClusterStatus(cl.GetClusterStatusRequest())
    check("status", status.has_leader and status.leader_id == 4 and status.commit_index == 10 and status.last_log_index == 11
          and status.state == cl.MEMBER_STATE_LEADER and status.snapshot_index == 5 and status.members[0].reachable, str(status))
    promoted = cluster.PromoteMember(cl.PromoteMemberRequest(node_id=9))
    check("promote", promoted.members[0].id == 9 and promoted.members[0].role == cl.MEMBER_ROLE_VOTER, str(promoted))
    check("transfer", cluster.TransferLeadership(cl.TransferLeadershipRequest(target_id=2)).header.leader_id == 2)
    expect_status("transfer to self", grpc.StatusCode.INVALID_ARGUMENT,
                  lambda: cluster.TransferLeadership(cl.TransferLeadershipRequest(target_id=4)))

    # Many concurrent calls from a stock client.
    with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
        futures = [pool.submit(kvs.Put, kv.PutRequest(key=b"c%d" % i, value=b"v")) for i in range(500)]
        done = sum(1 for f in futures if f.result(timeout=30).header.node_id == 4)
    check("500 concurrent puts", done == 500, f"{done} of 500")

    channel.close()
    print(f"grpcio client: {results['passed']} passed, {results['failed']} failed")
    sys.exit(1 if results["failed"] else 0)


if __name__ == "__main__":
    main()
