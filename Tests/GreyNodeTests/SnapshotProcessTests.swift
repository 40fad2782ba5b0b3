import Foundation
import GreyRPC
import GreyTestSupport
import GreyWire
import Testing

/// Writes `count` keys `prefix0…` through `node` from `parallel` concurrent writers; returns
/// the keys whose writes were acknowledged (a write that failed may or may not have landed).
func writeKeys(_ cluster: GreydCluster, via node: Int, prefix: String, count: Int, parallel: Int = 8, timeout: Duration = .seconds(5)) async throws -> [String] {
    let channel = try cluster.channel(node)
    return try await withThrowingTaskGroup(of: [String].self) { group in
        for writer in 0..<parallel {
            group.addTask {
                var acknowledged: [String] = []
                for index in stride(from: writer, to: count, by: parallel) {
                    let key = "\(prefix)\(index)"
                    if (try? await channel.call(KVMethods.put, PutRequest(key: Array(key.utf8), value: Array("value-\(key)".utf8)), timeout: timeout)) != nil {
                        acknowledged.append(key)
                    }
                }
                return acknowledged
            }
        }
        return try await group.reduce(into: []) { $0 += $1 }
    }
}

/// Polls `node` with stale reads until it holds `key` (it has caught up that far).
func waitUntil(_ cluster: GreydCluster, node: Int, holds key: String, within limit: Duration = .seconds(15)) async throws -> Bool {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        let got = try? await cluster.channel(node).call(KVMethods.get, GetRequest(key: Array(key.utf8), consistency: .stale), timeout: .milliseconds(500))
        if got?.found == true { return true }
        try await Task.sleep(for: .milliseconds(50))
    }
    return false
}

/// Counts the keys `node` lacks or holds with the wrong value.
func missingKeys(_ keys: [String], on cluster: GreydCluster, node: Int, consistency: ReadConsistency) async throws -> [String] {
    let channel = try cluster.channel(node)
    var missing: [String] = []
    for key in keys {
        let got = try await channel.call(KVMethods.get, GetRequest(key: Array(key.utf8), consistency: consistency), timeout: .seconds(5))
        if !got.found || got.value != Array("value-\(key)".utf8) { missing.append(key) }
    }
    return missing
}

extension GreydProcessTests {
    @Test("a follower behind the compacted log and a new member both catch up by snapshot")
    func catchUpBySnapshot() async throws {
        let cluster = try GreydCluster(count: 3, settings: ["GREY_SNAPSHOT_ENTRIES": "50"])
        defer { cluster.stopAll() }
        let leader = try await cluster.waitForLeader()
        let lagging = (leader + 1) % 3
        cluster.kill(lagging)
        let keys = try await writeKeys(cluster, via: leader, prefix: "s", count: 400)
        #expect(keys.count == 400)
        let status = try await cluster.channel(leader).call(ClusterMethods.getClusterStatus, GetClusterStatusRequest(), timeout: .seconds(1))
        #expect(status.snapshotIndex > 100, "the leader did not compact its log: snapshot index \(status.snapshotIndex)")

        // Writers keep going while the follower restarts and installs: the snapshot it is sent
        // is taken under load, and the entries after it must follow.
        async let during = writeKeys(cluster, via: leader, prefix: "d", count: 400, parallel: 4)
        try cluster.start(lagging)
        let writtenDuring = try await during
        #expect(writtenDuring.count == 400, "writes failed while a follower caught up: \(400 - writtenDuring.count)")
        #expect(try await waitUntil(cluster, node: lagging, holds: "s399"))
        try await cluster.waitUntilAllApplied()
        #expect(try await missingKeys(keys + writtenDuring, on: cluster, node: lagging, consistency: .stale) == [])
        let log = try String(contentsOf: cluster.directory.appendingPathComponent("node-\(lagging).log"), encoding: .utf8)
        #expect(log.contains("installed a snapshot"), "the restarted follower caught up without a snapshot:\n\(log)")

        try cluster.start(3, joining: leader)
        #expect(try await waitUntil(cluster, node: 3, holds: "s399"))
        #expect(try await missingKeys(keys, on: cluster, node: 3, consistency: .stale) == [])
        // And the cluster goes on: writes after the snapshot reach the new member too.
        _ = try await cluster.channel(3).call(KVMethods.put, PutRequest(key: Array("after".utf8), value: [1]), timeout: .seconds(5))
        #expect(try await waitUntil(cluster, node: lagging, holds: "after"))
    }

    @Test("kill -9 under concurrent writes — a follower, the leader, then every node — loses no acknowledged write")
    func crashLoop() async throws {
        let cluster = try GreydCluster(count: 3, settings: ["GREY_SNAPSHOT_ENTRIES": "200"])
        defer { cluster.stopAll() }
        var acknowledged: [String] = []
        for round in 0..<3 {
            let leader = try await cluster.waitForLeader(within: .seconds(15))
            let victims = switch round {
            case 0: [(leader + 1) % 3]
            case 1: [leader]
            default: [0, 1, 2]
            }
            let entry = (leader + 2) % 3
            // Writers run while the kill lands; writes that fail are not counted as acknowledged.
            async let written = writeKeys(cluster, via: victims.contains(entry) ? leader : entry, prefix: "r\(round)-", count: 300, timeout: .seconds(2))
            try await Task.sleep(for: .milliseconds(150))
            for victim in victims { cluster.kill(victim) }
            let keys = try await written
            acknowledged += keys
            for victim in victims { try cluster.start(victim) }
            _ = try await cluster.waitForLeader(within: .seconds(15))
        }
        #expect(acknowledged.count > 300, "too few writes were acknowledged to mean anything: \(acknowledged.count)")
        // Each replica's own copy (stale reads once all have applied the leader's commit index):
        // a replica that lost writes is caught here, not hidden behind reads forwarded to the leader.
        try await cluster.waitUntilAllApplied()
        for node in 0..<3 {
            let missing = try await missingKeys(acknowledged, on: cluster, node: node, consistency: .stale)
            #expect(missing.isEmpty, "node \(node) lacks \(missing.count) acknowledged writes, e.g. \(missing.prefix(5))")
        }
    }

    @Test("greyctl snapshot create saves a live cluster's data; restore seeds a new cluster that serves it")
    func backupAndRestore() async throws {
        let greyctl = FsckTests.greyctl.path
        let original = try GreydCluster(count: 3)
        defer { original.stopAll() }
        let leader = try await original.waitForLeader()
        let keys = try await writeKeys(original, via: leader, prefix: "b", count: 200)
        let backup = original.directory.appendingPathComponent("backup.snap").path
        let created = try await runProcess(greyctl, ["snapshot", "create", "--endpoints", original.address((leader + 1) % 3), "--output", backup])
        #expect(created.status == 0, "\(created.output)")
        // 200 keys: a version each, the store's revision, and a history record per apply
        // (one to 200 of them, as the writes were batched).
        let records = created.output.split(separator: " ").firstIndex(of: "records,").flatMap { Int(created.output.split(separator: " ")[$0 - 1]) }
        #expect(records.map { (202...401).contains($0) } == true, "\(created.output)")

        // A damaged backup is refused by restore, with the reason.
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: backup)))
        bytes[bytes.count / 2] ^= 0xFF
        let damaged = backup + ".damaged"
        try Data(bytes).write(to: URL(fileURLWithPath: damaged))
        let refused = try await runProcess(greyctl, ["snapshot", "restore", "--input", damaged, "--data-dir", original.directory.appendingPathComponent("refused").path])
        #expect(refused.status != 0 && refused.output.hasPrefix("greyctl: snapshot is damaged"), "\(refused.output)")
        #expect(!FileManager.default.fileExists(atPath: original.directory.appendingPathComponent("refused").path))

        // fsck reads a restored directory that no greyd has started yet, and says so.
        let seeded = original.directory.appendingPathComponent("seeded").path
        let restore = try await runProcess(greyctl, ["snapshot", "restore", "--input", backup, "--data-dir", seeded])
        #expect(restore.status == 0, "\(restore.output)")
        let checked = try await runProcess(greyctl, ["fsck", "--data-dir", seeded])
        #expect(checked.status == 0 && checked.output.hasPrefix("ok: restored from a snapshot at index "), "\(checked.output)")
        #expect(checked.output.contains("not yet started"), "\(checked.output)")

        let restoredCluster = try GreydCluster(count: 3, restoringFrom: backup)
        defer { restoredCluster.stopAll() }
        let newLeader = try await restoredCluster.waitForLeader()
        #expect(try await missingKeys(keys, on: restoredCluster, node: newLeader, consistency: .linearizable) == [])
        _ = try await restoredCluster.channel(newLeader).call(KVMethods.put, PutRequest(key: Array("fresh".utf8), value: [1]), timeout: .seconds(5))
        // The original cluster knows nothing of the new one.
        let elsewhere = try await original.channel(leader).call(KVMethods.get, GetRequest(key: Array("fresh".utf8)), timeout: .seconds(5))
        #expect(!elsewhere.found)
    }
}
