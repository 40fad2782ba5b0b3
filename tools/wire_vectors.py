#!/usr/bin/env python3
"""Golden wire vectors shared with the Swift tests (Tests/GreyWireTests/WireVectorTests.swift).

  wire_vectors.py write DIR    encode each sample that has no golden yet into DIR/NAME.bin
  wire_vectors.py verify DIR   encode every sample and compare with its committed golden
  wire_vectors.py check DIR    decode DIR/NAME.bin (written by Swift) and compare with the sample

The samples here and in WireVectorSamples.swift must describe the same messages; each side
decodes the other's bytes, so a field mapped wrongly on either side shows up as a mismatch.
Goldens are append-only: `write` never replaces one, and `verify` fails when today's encoding
of a sample differs from its committed bytes — a renumbered or retyped field changes the
bytes on the wire, and clients built from the old protos would misread them.
"""
import os
import sys

from grey_proto import load, load_etcd

kv, cl, _, _ = load()
rpc, mvcc, _ = load_etcd()


def header():
    return kv.ResponseHeader(node_id=2, leader_id=1, has_leader=True, term=7, applied_index=42)


def members():
    return [
        cl.Member(id=0, address="127.0.0.1:5000", role=cl.MEMBER_ROLE_VOTER, state=cl.MEMBER_STATE_LEADER,
                  match_index=120, reachable=True),
        cl.Member(id=1, address="127.0.0.1:5001", role=cl.MEMBER_ROLE_VOTER, state=cl.MEMBER_STATE_FOLLOWER,
                  match_index=118, reachable=True),
        cl.Member(id=7, address="node-7.example:5007", role=cl.MEMBER_ROLE_LEARNER,
                  state=cl.MEMBER_STATE_UNKNOWN, match_index=0, reachable=False),
    ]


def samples():
    return {
        "put_request": kv.PutRequest(key=b"alpha", value=bytes(range(256))),
        "put_request_empty": kv.PutRequest(),
        "put_response": kv.PutResponse(header=header()),
        "get_request_lease": kv.GetRequest(key=b"k\x00\xff", consistency=kv.READ_CONSISTENCY_LEASE),
        "get_response": kv.GetResponse(header=header(), found=True, value=b"value"),
        "delete_response": kv.DeleteResponse(header=header(), deleted=True),
        "cas_request": kv.CompareAndSwapRequest(key=b"counter", expected_value=b"1", expect_absent=False,
                                                new_value=b"2"),
        "cas_response": kv.CompareAndSwapResponse(header=header(), succeeded=False, current_found=True,
                                                  current_value=b"3"),
        "request_vote_pre": cl.RequestVoteRequest(term=9, candidate_id=2, last_log_index=300, last_log_term=8,
                                                  pre_vote=True, leadership_transfer=False),
        "request_vote_response": cl.RequestVoteResponse(term=9, vote_granted=True, pre_vote=True, voter_id=1),
        "append_entries_64": cl.AppendEntriesRequest(
            term=5, leader_id=0, prev_log_index=100, prev_log_term=4, leader_commit=120, read_context=9,
            entries=[cl.Entry(term=5, index=101 + i,
                              type=cl.ENTRY_TYPE_NOOP if i == 0 else cl.ENTRY_TYPE_COMMAND,
                              data=bytes((i + j) % 256 for j in range(256)) if i else b"")
                     for i in range(64)]),
        "append_entries_response": cl.AppendEntriesResponse(term=5, success=False, follower_id=2, match_index=0,
                                                            conflict_index=77, conflict_term=3, last_log_index=90,
                                                            read_context=9),
        "install_snapshot": cl.InstallSnapshotRequest(
            term=6, leader_id=1, last_included_index=5000, last_included_term=6,
            configuration=cl.Configuration(members=members()), offset=65536,
            data=bytes((i * 7) % 251 for i in range(65536)), done=True, chunk_crc32c=0xDEADBEEF,
            total_size=131072),
        "install_snapshot_response": cl.InstallSnapshotResponse(term=6, follower_id=2, next_offset=131072,
                                                                installed=True),
        "timeout_now": cl.TimeoutNowRequest(term=11, leader_id=0),
        "join_request": cl.JoinClusterRequest(node_id=3, address="127.0.0.1:5003", as_learner=True,
                                              join_token="s3cret-\u00e9"),
        "join_response": cl.JoinClusterResponse(header=header(), members=members()),
        "leave_request": cl.LeaveClusterRequest(node_id=7, force=True),
        "status_request": cl.GetClusterStatusRequest(),
        "status_response": cl.GetClusterStatusResponse(
            node_id=1, leader_id=0, term=12, commit_index=400, last_log_index=401, applied_index=399,
            has_leader=True, members=members(), state=cl.MEMBER_STATE_FOLLOWER, snapshot_index=256),
        "status_response_replication": cl.GetClusterStatusResponse(
            node_id=0, leader_id=0, term=12, commit_index=400, last_log_index=401, applied_index=400,
            has_leader=True, state=cl.MEMBER_STATE_LEADER, snapshot_index=256, members=[
                cl.Member(id=0, address="127.0.0.1:5000", role=cl.MEMBER_ROLE_VOTER, state=cl.MEMBER_STATE_LEADER,
                          match_index=401, reachable=True),
                cl.Member(id=1, address="127.0.0.1:5001", role=cl.MEMBER_ROLE_VOTER, state=cl.MEMBER_STATE_FOLLOWER,
                          match_index=399, reachable=True, replication=cl.REPLICATION_STATE_REPLICATE, next_index=402,
                          since_contact_ms=30, inflight=2),
                cl.Member(id=7, address="node-7.example:5007", role=cl.MEMBER_ROLE_LEARNER,
                          state=cl.MEMBER_STATE_FOLLOWER, match_index=0, reachable=False,
                          replication=cl.REPLICATION_STATE_PROBE, next_index=1, since_contact_ms=-1, inflight=0),
            ]),
        "config_change": cl.ConfigChange(kind=cl.ConfigChange.KIND_REMOVE, node_id=7, address="node-7.example:5007",
                                         result=cl.Configuration(members=members()[:2])),
        "transfer_request": cl.TransferLeadershipRequest(target_id=2),
        # Every message with every field set to something other than its default:
        "delete_request": kv.DeleteRequest(key=b"gone\x00"),
        "cas_request_absent": kv.CompareAndSwapRequest(key=b"fresh", expected_value=b"ignored", expect_absent=True,
                                                       new_value=b"first"),
        "request_vote_transfer": cl.RequestVoteRequest(term=10, candidate_id=3, last_log_index=301, last_log_term=9,
                                                       pre_vote=True, leadership_transfer=True),
        "append_entries_response_ok": cl.AppendEntriesResponse(term=5, success=True, follower_id=2, match_index=164,
                                                               conflict_index=1, conflict_term=1, last_log_index=164,
                                                               read_context=10),
        "timeout_now_response": cl.TimeoutNowResponse(term=12),
        "leave_response": cl.LeaveClusterResponse(header=header(), members=members()[:2]),
        "promote_request": cl.PromoteMemberRequest(node_id=7),
        "promote_response": cl.PromoteMemberResponse(header=header(), members=members()),
        "transfer_response": cl.TransferLeadershipResponse(header=header()),
        **etcd_samples(),
    }


def etcd_header():
    return rpc.ResponseHeader(cluster_id=0x79FD1636B952C876, member_id=0x8E9E05C52164694D, revision=1234, raft_term=9)


def etcd_kv(key, value, create, mod, version, lease=0):
    return mvcc.KeyValue(key=key, create_revision=create, mod_revision=mod, version=version, value=value, lease=lease)


def etcd_members():
    return [rpc.Member(ID=0x8E9E05C52164694D, name="node-1", peerURLs=["http://127.0.0.1:5001"],
                       clientURLs=["http://127.0.0.1:5001", "https://10.0.0.1:5001"], isLearner=False),
            rpc.Member(ID=3, name="", peerURLs=["http://127.0.0.1:5003"], clientURLs=[], isLearner=True)]


def etcd_samples():
    """etcd's v3 messages (Protos/etcd), every field set to something other than its default."""
    compares = [
        rpc.Compare(result=rpc.Compare.EQUAL, target=rpc.Compare.VALUE, key=b"k", value=b"v\x00", range_end=b"l"),
        rpc.Compare(result=rpc.Compare.GREATER, target=rpc.Compare.VERSION, key=b"k", version=3),
        rpc.Compare(result=rpc.Compare.LESS, target=rpc.Compare.CREATE, key=b"k", create_revision=10),
        rpc.Compare(result=rpc.Compare.NOT_EQUAL, target=rpc.Compare.MOD, key=b"k", mod_revision=11),
        rpc.Compare(result=rpc.Compare.EQUAL, target=rpc.Compare.LEASE, key=b"k", lease=0x1234),
    ]
    range_request = rpc.RangeRequest(
        key=b"a", range_end=b"\x00", limit=10, revision=99, sort_order=rpc.RangeRequest.DESCEND,
        sort_target=rpc.RangeRequest.VALUE, serializable=True, keys_only=True, count_only=True, min_mod_revision=1,
        max_mod_revision=2, min_create_revision=3, max_create_revision=4)
    put_request = rpc.PutRequest(key=b"p", value=b"q", lease=5, prev_kv=True, ignore_value=True, ignore_lease=True)
    delete_request = rpc.DeleteRangeRequest(key=b"d", range_end=b"e", prev_kv=True)
    range_response = rpc.RangeResponse(header=etcd_header(), kvs=[etcd_kv(b"a", b"1", 2, 5, 3, lease=7),
                                                                  etcd_kv(b"b", b"", 4, 4, 1)], more=True, count=9)
    put_response = rpc.PutResponse(header=etcd_header(), prev_kv=etcd_kv(b"p", b"old", 2, 3, 2))
    delete_response = rpc.DeleteRangeResponse(header=etcd_header(), deleted=2,
                                              prev_kvs=[etcd_kv(b"d", b"x", 6, 6, 1), etcd_kv(b"d2", b"y", 7, 8, 2)])
    nested = rpc.TxnRequest(compare=compares[1:2], success=[rpc.RequestOp(request_put=put_request)],
                            failure=[rpc.RequestOp(request_range=range_request)])
    return {
        "etcd_range_request": range_request,
        "etcd_range_response": range_response,
        "etcd_put_request": put_request,
        "etcd_put_response": put_response,
        "etcd_delete_range_request": delete_request,
        "etcd_delete_range_response": delete_response,
        "etcd_txn_request": rpc.TxnRequest(
            compare=compares,
            success=[rpc.RequestOp(request_range=range_request), rpc.RequestOp(request_put=put_request),
                     rpc.RequestOp(request_delete_range=delete_request), rpc.RequestOp(request_txn=nested)],
            failure=[rpc.RequestOp(request_put=put_request)]),
        "etcd_txn_response": rpc.TxnResponse(
            header=etcd_header(), succeeded=True,
            responses=[rpc.ResponseOp(response_range=range_response), rpc.ResponseOp(response_put=put_response),
                       rpc.ResponseOp(response_delete_range=delete_response),
                       rpc.ResponseOp(response_txn=rpc.TxnResponse(header=etcd_header(), succeeded=True,
                                                                   responses=[rpc.ResponseOp(response_put=put_response)]))]),
        "etcd_compaction_request": rpc.CompactionRequest(revision=77, physical=True),
        "etcd_compaction_response": rpc.CompactionResponse(header=etcd_header()),
        "etcd_member_list_response": rpc.MemberListResponse(header=etcd_header(), members=etcd_members()),
        "etcd_member_add_request": rpc.MemberAddRequest(peerURLs=["http://127.0.0.1:5003"], isLearner=True),
        "etcd_member_add_response": rpc.MemberAddResponse(header=etcd_header(), member=etcd_members()[1], members=etcd_members()),
        "etcd_member_promote_request": rpc.MemberPromoteRequest(ID=3),
        "etcd_status_response": rpc.StatusResponse(
            header=etcd_header(), version="3.4.0+grey", dbSize=1 << 20, leader=2, raftIndex=400, raftTerm=9,
            raftAppliedIndex=399, errors=["one", "two"], dbSizeInUse=1 << 19, isLearner=True),
        "etcd_hash_kv_request": rpc.HashKVRequest(revision=55),
        "etcd_hash_kv_response": rpc.HashKVResponse(header=etcd_header(), hash=0xCAFEBABE, compact_revision=44),
        "etcd_alarm_request": rpc.AlarmRequest(action=rpc.AlarmRequest.DEACTIVATE, memberID=2, alarm=rpc.NOSPACE),
        "etcd_alarm_response": rpc.AlarmResponse(header=etcd_header(), alarms=[rpc.AlarmMember(memberID=2, alarm=rpc.CORRUPT)]),
        "etcd_move_leader_request": rpc.MoveLeaderRequest(targetID=0x8E9E05C52164694D),
    }


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("write", "verify", "check"):
        sys.exit(__doc__)
    command, directory = sys.argv[1], sys.argv[2]
    passed = failed = 0
    for name, message in sorted(samples().items()):
        path = os.path.join(directory, name + ".bin")
        encoded = message.SerializeToString(deterministic=True)
        if command in ("write", "verify"):
            if os.path.exists(path):
                with open(path, "rb") as f:
                    golden = f.read()
                if golden == encoded:
                    passed += 1
                else:
                    print(f"FAIL {name}: today's encoding differs from the committed golden (goldens are append-only: "
                          f"a changed field number or type breaks every client built from the old protos)")
                    failed += 1
            elif command == "write":
                with open(path, "wb") as f:
                    f.write(encoded)
                print(f"new golden {name}.bin")
                passed += 1
            else:
                print(f"FAIL {name}: no golden yet (make vectors writes it)")
                failed += 1
            continue
        try:
            with open(path, "rb") as f:
                decoded = type(message).FromString(f.read())
        except Exception as error:  # a decode failure is a failed vector, reported by name
            print(f"FAIL {name}: {error}")
            failed += 1
            continue
        if decoded == message:
            passed += 1
        else:
            print(f"FAIL {name}: Swift encoding decodes to\n{decoded}\nexpected\n{message}")
            failed += 1
    print(f"wire vectors: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
