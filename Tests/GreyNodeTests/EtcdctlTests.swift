import Foundation
import GreyTestSupport
import Testing

/// The stock etcdctl 3.4 (Debian's etcd-client, ETCDCTL_API=3) against three greyd: the etcd
/// v3 API answered byte for byte, as an etcd user types it.
@Suite("etcdctl against a real cluster", .serialized)
struct EtcdctlTests {
    /// Runs etcdctl against every node (or one), returning its exit status and output.
    struct Etcdctl {
        let cluster: GreydCluster

        func run(_ arguments: [String], node: Int? = nil, input: String? = nil) async throws -> (status: Int32, output: String) {
            let endpoints = node.map { cluster.address($0) } ?? (0..<3).map(cluster.address).joined(separator: ",")
            return try await runProcess("env", ["ETCDCTL_API=3", "etcdctl", "--endpoints=\(endpoints)", "--command-timeout=10s"] + arguments, input: input)
        }

        /// Runs a command that must succeed; returns what it printed on stdout (etcdctl logs
        /// its retries as JSON lines on stderr, which land in the same pipe: they are dropped).
        func ok(_ arguments: [String], node: Int? = nil, input: String? = nil) async throws -> String {
            let (status, output) = try await run(arguments, node: node, input: input)
            #expect(status == 0, "etcdctl \(arguments.joined(separator: " ")) exited \(status): \(output)")
            return output.split(separator: "\n", omittingEmptySubsequences: false)
                .filter { !$0.hasPrefix("{\"level\"") }.joined(separator: "\n")
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }

        /// A command's `-w json` answer.
        func json(_ arguments: [String], node: Int? = nil) async throws -> [String: Any] {
            let output = try await ok(arguments + ["-w", "json"], node: node)
            let line = output.split(separator: "\n").last.map(String.init) ?? ""
            return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not JSON: \(output)")
        }

        /// A command that must fail, printing etcd's error.
        func fails(_ arguments: [String], saying message: String) async throws {
            let (status, output) = try await run(arguments)
            #expect(status != 0, "etcdctl \(arguments.joined(separator: " ")) should have failed: \(output)")
            #expect(output.contains("Error: \(message)"), "etcdctl \(arguments.joined(separator: " ")): \(output)")
        }
    }

    static func int(_ value: Any?) -> Int64? { (value as? NSNumber)?.int64Value }

    /// The member id etcd's API gives node `node`, in decimal (`EtcdMemberID`).
    static func etcdID(_ node: Int) -> String { node == 0 ? String(UInt64.max) : String(node) }

    /// The same id in hex, as etcdctl prints and takes it.
    static func etcdHex(_ node: Int) -> String { String(UInt64(etcdID(node))!, radix: 16) }

    @Test("put, get (single, prefix, keys-only, limit, sort, rev, serializable, json), del, txn and compaction as etcd answers them")
    func keyValue() async throws {
        let cluster = try GreydCluster(count: 3)
        defer { cluster.stopAll() }
        let leader = try await cluster.waitForLeader()
        let follower = (leader + 1) % 3
        let etcdctl = Etcdctl(cluster: cluster)

        #expect(try await etcdctl.ok(["put", "foo", "bar"]) == "OK")
        #expect(try await etcdctl.ok(["put", "foo", "baz", "--prev-kv"]) == "OK\nfoo\nbar")
        #expect(try await etcdctl.ok(["get", "foo"]) == "foo\nbaz")
        let single = try await etcdctl.json(["get", "foo"])
        let header = try #require(single["header"] as? [String: Any])
        #expect(Self.int(header["revision"]) == 3 && Self.int(single["count"]) == 1)
        #expect(Self.int(header["cluster_id"]) != 0 && Self.int(header["raft_term"]) ?? 0 >= 1)
        let kv = try #require((single["kvs"] as? [[String: Any]])?.first)
        #expect(Self.int(kv["create_revision"]) == 2 && Self.int(kv["mod_revision"]) == 3 && Self.int(kv["version"]) == 2)
        #expect(kv["key"] as? String == Data("foo".utf8).base64EncodedString())

        for key in ["fo2", "fo1", "fp"] { _ = try await etcdctl.ok(["put", key, "v-\(key)"]) }  // revisions 4, 5, 6
        #expect(try await etcdctl.ok(["get", "fo", "--prefix"]) == "fo1\nv-fo1\nfo2\nv-fo2\nfoo\nbaz")
        #expect(try await etcdctl.ok(["get", "fo", "--prefix", "--keys-only"]).split(separator: "\n") == ["fo1", "fo2", "foo"])
        let page = try await etcdctl.json(["get", "fo", "--prefix", "--limit", "2"])
        #expect((page["kvs"] as? [Any])?.count == 2 && page["more"] as? Bool == true && Self.int(page["count"]) == 3)
        #expect(try await etcdctl.ok(["get", "fo", "fp"]).split(separator: "\n") == ["fo1", "v-fo1", "fo2", "v-fo2", "foo", "baz"], "a [key, end) range")
        #expect(try await etcdctl.ok(["get", "fo", "--prefix", "--sort-by=MODIFY", "--order=DESCEND", "--keys-only"]).split(separator: "\n") == ["fo1", "fo2", "foo"])
        #expect(try await etcdctl.ok(["get", "fo", "--prefix", "--sort-by=CREATE", "--order=ASCEND", "--keys-only"]).split(separator: "\n") == ["foo", "fo2", "fo1"])
        #expect(try await etcdctl.ok(["get", "foo", "--rev", "2"]) == "foo\nbar", "an older revision")
        #expect(try await etcdctl.ok(["get", "", "--prefix", "--keys-only"]).split(separator: "\n") == ["fo1", "fo2", "foo", "fp"])
        #expect(try await etcdctl.ok(["get", "fp", "--consistency=s"], node: follower) == "fp\nv-fp", "a serializable read on a follower")

        #expect(try await etcdctl.ok(["del", "fo", "--prefix", "--prev-kv"]) == "3\nfo1\nv-fo1\nfo2\nv-fo2\nfoo\nbaz")  // revision 7
        #expect(try await etcdctl.ok(["get", "fo", "--prefix"]).isEmpty)
        #expect(try await etcdctl.ok(["del", "nothing"]) == "0")

        // txn, interactive: compares, then the success ops, then the failure ops.
        let branches = "put txn-then yes\n\nput txn-else yes\n\n"
        let took = try await etcdctl.ok(["txn", "-i"], input: "value(\"fp\") = \"v-fp\"\nversion(\"fp\") = \"1\"\n\n" + branches)
        #expect(took.contains("SUCCESS"), "\(took)")
        #expect(try await etcdctl.ok(["get", "txn-then"]) == "txn-then\nyes")  // revision 8
        let other = try await etcdctl.ok(["txn", "-i"], input: "mod(\"fp\") > \"6\"\ncreate(\"fp\") = \"6\"\n\n" + branches)
        #expect(other.contains("FAILURE"), "\(other)")
        #expect(try await etcdctl.ok(["get", "txn-else"]) == "txn-else\nyes")  // revision 9
        #expect(try await etcdctl.ok(["get", "txn-then", "--print-value-only"]) == "yes")

        // Compaction: reads below it are refused with etcd's error, at and above it answered.
        #expect(try await etcdctl.ok(["compaction", "5"]) == "compacted revision 5")
        try await etcdctl.fails(["get", "foo", "--rev", "4"], saying: "etcdserver: mvcc: required revision has been compacted")
        #expect(try await etcdctl.ok(["get", "fo2", "--rev", "5"]) == "fo2\nv-fo2")
        try await etcdctl.fails(["get", "foo", "--rev", "99"], saying: "etcdserver: mvcc: required revision is a future revision")
        try await etcdctl.fails(["compaction", "3"], saying: "etcdserver: mvcc: required revision has been compacted")
        // --physical: answered once the member has removed what the compaction made unreachable.
        #expect(try await etcdctl.ok(["compaction", "7", "--physical"]) == "compacted revision 7")
        #expect(try await etcdctl.ok(["get", "txn-then", "--rev", "8", "--print-value-only"]) == "yes")

        let health = try await etcdctl.ok(["endpoint", "health"])
        #expect(health.components(separatedBy: "is healthy").count == 4, "\(health)")
    }

    @Test("member list/add/promote/remove, endpoint status (one leader), health, hashkv (equal everywhere), defrag, move-leader")
    func clusterAndMaintenance() async throws {
        let cluster = try GreydCluster(count: 3)
        defer { cluster.stopAll() }
        let leader = try await cluster.waitForLeader()
        let etcdctl = Etcdctl(cluster: cluster)
        for index in 0..<20 { _ = try await etcdctl.ok(["put", "k\(index)", "v\(index)"]) }

        let list = try await etcdctl.ok(["member", "list"]).split(separator: "\n")
        #expect(list.count == 3 && list.allSatisfy { $0.contains("started") && $0.hasSuffix("false") }, "\(list)")
        #expect(list.contains { $0.contains("node-1, http://\(cluster.address(1)), http://\(cluster.address(1))") }, "\(list)")

        // Status: every member answers for itself, and exactly one says it leads.
        let statuses = try await etcdctl.ok(["endpoint", "status", "-w", "json"])
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(statuses.split(separator: "\n").last!.utf8)) as? [[String: Any]])
        let bodies = parsed.compactMap { $0["Status"] as? [String: Any] }
        #expect(bodies.count == 3)
        // Ids as etcd's: never 0 (proto3 JSON would leave it out, and clients read it as "none"):
        // node 0 goes by ffffffffffffffff. Read from the text, as a UInt64 does not survive NSNumber.
        let json = statuses.split(separator: "\n").last.map(String.init) ?? ""
        func ids(_ field: String) -> [String] {
            json.matches(of: try! Regex("\"\(field)\":([0-9]+)")).map { String($0.output[1].substring ?? "") }
        }
        #expect(Set(ids("leader")) == [Self.etcdID(leader)], "every member names node \(leader) as leader: \(json)")
        #expect(Set(ids("member_id")) == Set((0..<3).map(Self.etcdID)), "\(json)")
        let members = try await etcdctl.ok(["member", "list"])
        #expect(members.contains("ffffffffffffffff, started, node-0,"), "\(members)")
        #expect(bodies.allSatisfy { ($0["version"] as? String)?.hasPrefix("3.4") == true && (Self.int($0["dbSize"]) ?? 0) > 0 })
        let table = try await etcdctl.ok(["endpoint", "status", "-w", "table"]).split(separator: "\n").filter { $0.hasPrefix("| 127.") }
        let leaderColumn = table.map { $0.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }[4] }
        #expect(leaderColumn.sorted() == ["false", "false", "true"], "\(table)")

        #expect(try await etcdctl.ok(["endpoint", "health"]).components(separatedBy: "is healthy").count == 4)
        try await cluster.waitUntilAllApplied()
        let hashes = try await etcdctl.ok(["endpoint", "hashkv", "-w", "json"])
        let hashList = try #require(try JSONSerialization.jsonObject(with: Data(hashes.split(separator: "\n").last!.utf8)) as? [[String: Any]])
        let values = hashList.compactMap { ($0["HashKV"] as? [String: Any]).flatMap { Self.int($0["hash"]) } }
        #expect(values.count == 3 && Set(values).count == 1 && values[0] != 0, "hashes differ: \(hashes)")
        #expect(try await etcdctl.ok(["defrag"]).components(separatedBy: "Finished defragmenting").count == 4)
        // Auth: answered as an etcd with authentication disabled.
        #expect(try await etcdctl.ok(["auth", "disable"]) == "Authentication Disabled")
        // A client given a user tries Authenticate, hears "not enabled" and goes on without a token, as against etcd.
        let withUser = try await etcdctl.run(["--user", "root:secret", "get", "k1", "--print-value-only"])
        #expect(withUser.status == 0 && withUser.output.contains("etcdserver: authentication is not enabled") && withUser.output.hasSuffix("v1\n"),
                "\(withUser.output)")
        #expect(try await etcdctl.ok(["get", "k7", "--print-value-only"]) == "v7", "data survives a defrag")

        // move-leader: etcdctl asks the leader (it finds it by status) to hand over.
        let target = (leader + 1) % 3
        let moved = try await etcdctl.ok(["move-leader", Self.etcdHex(target)])
        #expect(moved.contains("Leadership transferred from \(Self.etcdHex(leader)) to \(Self.etcdHex(target))"), "\(moved)")
        #expect(try await cluster.waitForLeader() == target)

        // member add (as a learner), the node started with the id etcdctl printed, promote, remove.
        let newAddress = cluster.address(3)
        let added = try await etcdctl.ok(["member", "add", "n3", "--peer-urls=http://\(newAddress)", "--learner"])
        let hexID = try #require(added.split(separator: " ").dropFirst().first { !$0.isEmpty }.map(String.init), "\(added)")
        #expect(added.contains("added to cluster"), "\(added)")
        try cluster.start(3, joining: target, extra: ["GREY_NODE_ID": "0x" + hexID])
        var learnerSeen = false
        for _ in 0..<100 where !learnerSeen {
            learnerSeen = try await etcdctl.ok(["member", "list"]).contains("\(hexID), started, node-\(UInt64(hexID, radix: 16)!)")
            if !learnerSeen { try await Task.sleep(for: .milliseconds(100)) }
        }
        var promoted = ""
        for _ in 0..<100 {
            let attempt = try await etcdctl.run(["member", "promote", hexID])
            promoted = attempt.output
            if attempt.status == 0 { break }
            #expect(promoted.contains("can only promote a learner member which is in sync with leader"), "\(promoted)")
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(promoted.contains("promoted in cluster"), "\(promoted)")
        #expect(try await etcdctl.ok(["member", "list"]).split(separator: "\n").filter { $0.hasSuffix("false") }.count == 4)
        // The joiner answers with the founders' cluster id, as every member of an etcd cluster does.
        let four = (0..<4).map(cluster.address).joined(separator: ",")
        let (_, fourStatuses) = try await runProcess("env", ["ETCDCTL_API=3", "etcdctl", "--endpoints=\(four)", "endpoint", "status", "-w", "json"])
        let fourParsed = try #require(try JSONSerialization.jsonObject(with: Data(fourStatuses.split(separator: "\n").last!.utf8)) as? [[String: Any]])
        let clusterIDs = fourParsed.compactMap { (($0["Status"] as? [String: Any])?["header"] as? [String: Any]).flatMap { Self.int($0["cluster_id"]) } }
        #expect(clusterIDs.count == 4 && Set(clusterIDs).count == 1, "cluster ids: \(fourStatuses)")
        try await etcdctl.fails(["member", "promote", hexID], saying: "etcdserver: can only promote a learner member")
        #expect(try await etcdctl.ok(["member", "remove", hexID]).contains("removed from cluster"))
        #expect(try await etcdctl.ok(["member", "list"]).split(separator: "\n").count == 3)
        try await etcdctl.fails(["member", "remove", hexID], saying: "etcdserver: member not found")
    }
}
