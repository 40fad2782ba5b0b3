import Foundation
import GreyRPC
import GreyTestSupport
import GreyWire
import Testing

/// `greyctl repair` and `greyctl cluster quarantine` against three greyd: a node with damaged
/// data refuses to serve, comes back with its id from the leader's snapshot, and the cluster
/// takes writes throughout.
@Suite("repair and quarantine", .serialized)
struct RepairTests {
    /// Overwrites the middle third of every RocksDB table in `directory`.
    static func damageTables(in directory: URL) throws -> Int {
        var damaged = 0
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) where name.hasSuffix(".sst") {
            let handle = try FileHandle(forUpdating: directory.appendingPathComponent(name))
            let size = try handle.seekToEnd()
            guard size > 64 else { continue }
            try handle.seek(toOffset: size / 3)
            handle.write(Data(repeating: 0xA5, count: Int(size / 3)))
            try handle.close()
            damaged += 1
        }
        return damaged
    }

    static func waitUntil(_ limit: Duration, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    /// Whether `node` is a voter in the leader's membership.
    static func isVoter(_ node: Int, _ cluster: GreydCluster, via leader: Int) async -> Bool {
        let status = try? await cluster.channel(leader).call(ClusterMethods.getClusterStatus, GetClusterStatusRequest(), timeout: .seconds(1))
        return status?.members.contains { $0.id == UInt64(node) && $0.role == .voter } == true
    }

    @Test("damaged data: the node refuses to serve, the cluster goes on, greyctl repair brings it back as the same voter; quarantine takes a live node out and repair brings it back too")
    func repairAndQuarantine() async throws {
        let cluster = try GreydCluster(count: 3)
        defer { cluster.stopAll() }
        let leader = try await cluster.waitForLeader()
        let node = (leader + 1) % 3
        let greyctl = FsckTests.greyctl.path
        let data = cluster.directory.appendingPathComponent("node-\(node)")
        let before = try await writeKeys(cluster, via: leader, prefix: "before-", count: 100)
        try await cluster.waitUntilAllApplied()

        // Its state into tables (etcd's Defragment compacts every column family), then damaged.
        _ = try await cluster.channel(node).call(EtcdMaintenanceMethods.defragment, Etcd.DefragmentRequest(), timeout: .seconds(10))
        _ = cluster.stop(node, signal: SIGTERM)
        #expect(try Self.damageTables(in: data) > 0)
        let fsck = try await runProcess(greyctl, ["fsck", "--data-dir", data.path])
        #expect(fsck.status != 0, "fsck passed damaged data: \(fsck.output)")

        // It refuses to serve: it stops with the reason and what to do.
        try cluster.start(node)
        let refused = try #require(cluster.processes[node])
        #expect(try await Self.waitUntil(.seconds(20)) { !refused.isRunning }, "a node with damaged data kept running")
        #expect(refused.terminationStatus != 0)
        #expect(cluster.log(node).contains("greyctl repair --data-dir"), "\(cluster.log(node).suffix(600))")
        cluster.processes[node] = nil

        // The other two take writes all along.
        let during = try await writeKeys(cluster, via: leader, prefix: "during-", count: 50)
        #expect(during.count == 50)

        // Damaged this badly, the directory cannot say whose it is: repair asks, then takes the id.
        let unknown = try await runProcess(greyctl, ["repair", "--data-dir", data.path, "--endpoints", cluster.address(leader)])
        #expect(unknown.status != 0 && unknown.output == "greyctl: \(data.path) does not say which node it holds: give --node-id\n", "\(unknown.output)")
        let repaired = try await runProcess(greyctl, ["repair", "--data-dir", data.path, "--node-id", String(node), "--endpoints", cluster.address(leader)])
        #expect(repaired.status == 0 && repaired.output.contains("node \(node) rebuilt"), "\(repaired.output)")
        let aside = try FileManager.default.contentsOfDirectory(atPath: cluster.directory.path).filter { $0.hasPrefix("node-\(node).damaged-") }
        #expect(aside.count == 1, "the damaged data is kept aside: \(aside)")
        try cluster.start(node)
        #expect(try await Self.waitUntil(.seconds(30)) { await Self.isVoter(node, cluster, via: leader) }, "never a voter again")
        try await cluster.waitUntilAllApplied()
        #expect(try await missingKeys(before + during, on: cluster, node: node, consistency: .stale).isEmpty)
        let id = try await cluster.channel(node).call(ClusterMethods.getClusterStatus, GetClusterStatusRequest(), timeout: .seconds(2)).nodeID
        #expect(id == UInt64(node), "it kept its id")
        var hashes: Set<UInt32> = []
        for member in 0..<3 {
            hashes.insert(try await cluster.channel(member).call(EtcdMaintenanceMethods.hashKV, Etcd.HashKVRequest(), timeout: .seconds(5)).hash)
        }
        #expect(hashes.count == 1, "the repaired replica disagrees: \(hashes)")

        // Quarantine the same node while it runs: out at once, it says so and serves no more.
        let quarantined = try await runProcess(greyctl, ["cluster", "quarantine", String(node), "--endpoints", cluster.address(leader)])
        #expect(quarantined.status == 0 && quarantined.output.contains("node \(node) (\(cluster.address(node))) quarantined"), "\(quarantined.output)")
        try await cluster.waitForLog(node, containing: "removed from the cluster")
        let answer = try await runProcess(greyctl, ["kv", "get", "before-1", "--consistency", "stale", "--endpoints", cluster.address(node)])
        #expect(answer.status != 0 && answer.output.contains("was removed from the cluster"), "\(answer.output)")
        _ = cluster.stop(node, signal: SIGTERM)
        let back = try await runProcess(greyctl, ["repair", "--data-dir", data.path, "--endpoints", cluster.address(leader), "--address", cluster.address(node)])
        #expect(back.status == 0, "\(back.output)")
        try cluster.start(node)
        #expect(try await Self.waitUntil(.seconds(30)) { await Self.isVoter(node, cluster, via: leader) }, "never a voter again after quarantine")
    }
}
