import GreyWire

/// One golden message: its name in data/vectors/ and how to compare bytes with it.
struct WireSample: Sendable, CustomStringConvertible {
    let name: String
    /// Decodes bytes as this sample's type and reports whether they equal the sample.
    let matches: @Sendable ([UInt8]) throws -> Bool
    let encoded: @Sendable () -> [UInt8]
    var description: String { name }

    init<M: ProtobufMessage>(_ name: String, _ message: M) {
        self.name = name
        self.matches = { try M(decoding: $0) == message }
        self.encoded = { message.encoded() }
    }
}

/// The same messages as `samples()` in tools/wire_vectors.py; each side decodes the other's bytes.
enum WireVectorSamples {
    static let header = ResponseHeader(nodeID: 2, leaderID: 1, hasLeader: true, term: 7, appliedIndex: 42)

    static let members = [
        Member(id: 0, address: "127.0.0.1:5000", role: .voter, state: .leader, matchIndex: 120, reachable: true),
        Member(id: 1, address: "127.0.0.1:5001", role: .voter, state: .follower, matchIndex: 118, reachable: true),
        Member(id: 7, address: "node-7.example:5007", role: .learner, state: .unknown, matchIndex: 0, reachable: false),
    ]

    static let entries64: [Entry] = (0..<64).map(entry)

    private static func entry(_ i: Int) -> Entry {
        if i == 0 { return Entry(term: 5, index: 101, type: .noop) }
        let data: [UInt8] = (0..<256).map { (j: Int) -> UInt8 in UInt8((i + j) % 256) }
        return Entry(term: 5, index: UInt64(101 + i), type: .command, data: data)
    }

    private static let snapshotData: [UInt8] = (0..<65536).map { (i: Int) -> UInt8 in UInt8((i * 7) % 251) }
    private static let byteRange: [UInt8] = (0..<256).map { (i: Int) -> UInt8 in UInt8(i) }

    static let all: [WireSample] = [
        WireSample("put_request", PutRequest(key: Array("alpha".utf8), value: byteRange)),
        WireSample("put_request_empty", PutRequest()),
        WireSample("put_response", PutResponse(header: header)),
        WireSample("get_request_lease", GetRequest(key: [0x6B, 0x00, 0xFF], consistency: .lease)),
        WireSample("get_response", GetResponse(header: header, found: true, value: Array("value".utf8))),
        WireSample("delete_response", DeleteResponse(header: header, deleted: true)),
        WireSample(
            "cas_request",
            CompareAndSwapRequest(key: Array("counter".utf8), expectedValue: Array("1".utf8), expectAbsent: false, newValue: Array("2".utf8))),
        WireSample(
            "cas_response", CompareAndSwapResponse(header: header, succeeded: false, currentFound: true, currentValue: Array("3".utf8))),
        WireSample(
            "request_vote_pre",
            RequestVoteRequest(term: 9, candidateID: 2, lastLogIndex: 300, lastLogTerm: 8, preVote: true, leadershipTransfer: false)),
        WireSample("request_vote_response", RequestVoteResponse(term: 9, voteGranted: true, preVote: true, voterID: 1)),
        WireSample(
            "append_entries_64",
            AppendEntriesRequest(
                term: 5, leaderID: 0, prevLogIndex: 100, prevLogTerm: 4, entries: entries64, leaderCommit: 120, readContext: 9)),
        WireSample(
            "append_entries_response",
            AppendEntriesResponse(
                term: 5, success: false, followerID: 2, matchIndex: 0, conflictIndex: 77, conflictTerm: 3, lastLogIndex: 90,
                readContext: 9)),
        WireSample(
            "install_snapshot",
            InstallSnapshotRequest(
                term: 6, leaderID: 1, lastIncludedIndex: 5000, lastIncludedTerm: 6, configuration: Configuration(members: members),
                offset: 65536, data: snapshotData, done: true, chunkCRC32C: 0xDEAD_BEEF,
                totalSize: 131072)),
        WireSample("install_snapshot_response", InstallSnapshotResponse(term: 6, followerID: 2, nextOffset: 131072, installed: true)),
        WireSample("timeout_now", TimeoutNowRequest(term: 11, leaderID: 0)),
        WireSample("join_request", JoinClusterRequest(nodeID: 3, address: "127.0.0.1:5003", asLearner: true, joinToken: "s3cret-é")),
        WireSample("join_response", JoinClusterResponse(header: header, members: members)),
        WireSample("leave_request", LeaveClusterRequest(nodeID: 7, force: true)),
        WireSample("status_request", GetClusterStatusRequest()),
        WireSample(
            "status_response",
            GetClusterStatusResponse(
                nodeID: 1, leaderID: 0, term: 12, commitIndex: 400, lastLogIndex: 401, appliedIndex: 399, hasLeader: true,
                members: members, state: .follower, snapshotIndex: 256)),
        WireSample(
            "status_response_replication",
            GetClusterStatusResponse(
                nodeID: 0, leaderID: 0, term: 12, commitIndex: 400, lastLogIndex: 401, appliedIndex: 400, hasLeader: true,
                members: [
                    Member(id: 0, address: "127.0.0.1:5000", role: .voter, state: .leader, matchIndex: 401, reachable: true),
                    Member(id: 1, address: "127.0.0.1:5001", role: .voter, state: .follower, matchIndex: 399, reachable: true,
                           replication: .replicate, nextIndex: 402, sinceContactMilliseconds: 30, inflight: 2),
                    Member(id: 7, address: "node-7.example:5007", role: .learner, state: .follower, matchIndex: 0, reachable: false,
                           replication: .probe, nextIndex: 1, sinceContactMilliseconds: -1, inflight: 0),
                ], state: .leader, snapshotIndex: 256)),
        WireSample(
            "config_change",
            ConfigChange(kind: .remove, nodeID: 7, address: "node-7.example:5007", result: Configuration(members: Array(members.prefix(2))))),
        WireSample("transfer_request", TransferLeadershipRequest(targetID: 2)),
        // Every message with every field set to something other than its default:
        WireSample("delete_request", DeleteRequest(key: Array("gone".utf8) + [0])),
        WireSample(
            "cas_request_absent",
            CompareAndSwapRequest(key: Array("fresh".utf8), expectedValue: Array("ignored".utf8), expectAbsent: true, newValue: Array("first".utf8))),
        WireSample(
            "request_vote_transfer",
            RequestVoteRequest(term: 10, candidateID: 3, lastLogIndex: 301, lastLogTerm: 9, preVote: true, leadershipTransfer: true)),
        WireSample(
            "append_entries_response_ok",
            AppendEntriesResponse(
                term: 5, success: true, followerID: 2, matchIndex: 164, conflictIndex: 1, conflictTerm: 1, lastLogIndex: 164, readContext: 10)),
        WireSample("timeout_now_response", TimeoutNowResponse(term: 12)),
        WireSample("leave_response", LeaveClusterResponse(header: header, members: Array(members.prefix(2)))),
        WireSample("promote_request", PromoteMemberRequest(nodeID: 7)),
        WireSample("promote_response", PromoteMemberResponse(header: header, members: members)),
        WireSample("transfer_response", TransferLeadershipResponse(header: header)),
    ] + EtcdWireSamples.all
}

/// etcd's v3 messages, the same as `etcd_samples()` in tools/wire_vectors.py.
enum EtcdWireSamples {
    static func b(_ text: String) -> [UInt8] { Array(text.utf8) }
    static let header = Etcd.ResponseHeader(clusterID: 0x79FD_1636_B952_C876, memberID: 0x8E9E_05C5_2164_694D, revision: 1234, raftTerm: 9)
    static func kv(_ key: String, _ value: String, _ create: Int64, _ mod: Int64, _ version: Int64, lease: Int64 = 0) -> Etcd.KeyValue {
        Etcd.KeyValue(key: b(key), createRevision: create, modRevision: mod, version: version, value: b(value), lease: lease)
    }
    static let members = [
        Etcd.Member(id: 0x8E9E_05C5_2164_694D, name: "node-1", peerURLs: ["http://127.0.0.1:5001"],
                    clientURLs: ["http://127.0.0.1:5001", "https://10.0.0.1:5001"], isLearner: false),
        Etcd.Member(id: 3, name: "", peerURLs: ["http://127.0.0.1:5003"], clientURLs: [], isLearner: true),
    ]
    static let compares = [
        Etcd.Compare(result: .equal, target: .value(b("v") + [0]), key: b("k"), rangeEnd: b("l")),
        Etcd.Compare(result: .greater, target: .version(3), key: b("k")),
        Etcd.Compare(result: .less, target: .createRevision(10), key: b("k")),
        Etcd.Compare(result: .notEqual, target: .modRevision(11), key: b("k")),
        Etcd.Compare(result: .equal, target: .lease(0x1234), key: b("k")),
    ]
    static let rangeRequest = Etcd.RangeRequest(
        key: b("a"), rangeEnd: [0], limit: 10, revision: 99, sortOrder: .descend, sortTarget: .value, serializable: true,
        keysOnly: true, countOnly: true, minModRevision: 1, maxModRevision: 2, minCreateRevision: 3, maxCreateRevision: 4)
    static let putRequest = Etcd.PutRequest(key: b("p"), value: b("q"), lease: 5, prevKV: true, ignoreValue: true, ignoreLease: true)
    static let deleteRequest = Etcd.DeleteRangeRequest(key: b("d"), rangeEnd: b("e"), prevKV: true)
    static let rangeResponse = Etcd.RangeResponse(header: header, kvs: [kv("a", "1", 2, 5, 3, lease: 7), kv("b", "", 4, 4, 1)], more: true, count: 9)
    static let putResponse = Etcd.PutResponse(header: header, prevKV: kv("p", "old", 2, 3, 2))
    static let deleteResponse = Etcd.DeleteRangeResponse(header: header, deleted: 2, prevKVs: [kv("d", "x", 6, 6, 1), kv("d2", "y", 7, 8, 2)])
    static let nested = Etcd.TxnRequest(compare: [compares[1]], success: [.put(putRequest)], failure: [.range(rangeRequest)])

    static let all: [WireSample] = [
        WireSample("etcd_range_request", rangeRequest),
        WireSample("etcd_range_response", rangeResponse),
        WireSample("etcd_put_request", putRequest),
        WireSample("etcd_put_response", putResponse),
        WireSample("etcd_delete_range_request", deleteRequest),
        WireSample("etcd_delete_range_response", deleteResponse),
        WireSample("etcd_txn_request", Etcd.TxnRequest(
            compare: compares, success: [.range(rangeRequest), .put(putRequest), .deleteRange(deleteRequest), .txn(nested)],
            failure: [.put(putRequest)])),
        WireSample("etcd_txn_response", Etcd.TxnResponse(
            header: header, succeeded: true,
            responses: [.range(rangeResponse), .put(putResponse), .deleteRange(deleteResponse),
                        .txn(Etcd.TxnResponse(header: header, succeeded: true, responses: [.put(putResponse)]))])),
        WireSample("etcd_compaction_request", Etcd.CompactionRequest(revision: 77, physical: true)),
        WireSample("etcd_compaction_response", Etcd.CompactionResponse(header: header)),
        WireSample("etcd_member_list_response", Etcd.MemberListResponse(header: header, members: members)),
        WireSample("etcd_member_add_request", Etcd.MemberAddRequest(peerURLs: ["http://127.0.0.1:5003"], isLearner: true)),
        WireSample("etcd_member_add_response", Etcd.MemberAddResponse(header: header, member: members[1], members: members)),
        WireSample("etcd_member_promote_request", Etcd.MemberPromoteRequest(id: 3)),
        WireSample("etcd_status_response", Etcd.StatusResponse(
            header: header, version: "3.4.0+grey", dbSize: 1 << 20, leader: 2, raftIndex: 400, raftTerm: 9, raftAppliedIndex: 399,
            errors: ["one", "two"], dbSizeInUse: 1 << 19, isLearner: true)),
        WireSample("etcd_hash_kv_request", Etcd.HashKVRequest(revision: 55)),
        WireSample("etcd_hash_kv_response", Etcd.HashKVResponse(header: header, hash: 0xCAFE_BABE, compactRevision: 44)),
        WireSample("etcd_alarm_request", Etcd.AlarmRequest(action: .deactivate, memberID: 2, alarm: .noSpace)),
        WireSample("etcd_alarm_response", Etcd.AlarmResponse(header: header, alarms: [Etcd.AlarmMember(memberID: 2, alarm: .corrupt)])),
        WireSample("etcd_move_leader_request", Etcd.MoveLeaderRequest(targetID: 0x8E9E_05C5_2164_694D)),
    ]
}
