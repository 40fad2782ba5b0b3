import Foundation
import GreyRaft
import GreyStorage
import GreyWire
import Testing

@testable import GreyNode

/// A follower receiving snapshots, driven through the same entry point the InstallSnapshot RPC
/// uses (`receiveSnapshotChunk`), on a real GreyNode over real RocksDB.
@Suite("Snapshot installs on a follower", .serialized)
struct SnapshotInstallTests {
    static let members = GreyRaft.Configuration(voters: [0, 1, 2], addresses: [0: "127.0.0.1:1", 1: "127.0.0.1:2", 2: "127.0.0.1:3"])

    /// A leader's state of `count` keys (each `valueBytes` long) applied through index
    /// `count`, plus `extra` keys, as InstallSnapshot requests of term 3 from node 0.
    static func requests(in directory: String, count: Int, valueBytes: Int = 100, extra: [String: String] = [:]) throws -> [InstallSnapshotRequest] {
        let storage = try RaftStorage(directory: directory, nodeID: 0)
        var changes = (0..<count).map { (key: Array("key-\($0)".utf8), value: Optional([UInt8](repeating: UInt8($0 % 251), count: valueBytes))) }
        changes += extra.map { (key: Array($0.key.utf8), value: Optional(Array($0.value.utf8))) }
        try storage.apply(changes, appliedIndex: LogIndex(UInt64(count)))
        let metadata = SnapshotMetadata(index: LogIndex(UInt64(count)), term: 3, configuration: members)
        let source = SnapshotSource(view: storage.freeze(), metadata: metadata)
        var requests: [InstallSnapshotRequest] = []
        while true {
            let chunk = try source.nextChunk(maxBytes: 256 << 10)
            requests.append(InstallSnapshotRequest(
                term: 3, leaderID: 0, lastIncludedIndex: metadata.index.rawValue, lastIncludedTerm: 3,
                configuration: LogEntryCodec.wireConfiguration(members), offset: chunk.offset, data: chunk.data,
                done: chunk.done, chunkCRC32C: CRC32C.checksum(chunk.data)))
            if chunk.done { return requests }
        }
    }

    /// Node 1 of `members`, not started (no timer: nothing happens but what the test sends).
    static func follower(in directory: String) throws -> GreyNode {
        let storage = try RaftStorage(directory: directory, nodeID: 1)
        let configuration = NodeConfiguration(
            id: 1, listenHost: "127.0.0.1", listenPort: 2, advertiseAddress: "127.0.0.1:2", peers: [], dataDirectory: directory, seed: 1)
        return try GreyNode(configuration: configuration, storage: storage, bootstrap: members)
    }

    static func scratch(_ name: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("grey-\(name)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("a second transfer arriving while the first installs: each install takes its own file, the newer state wins, nothing is left behind")
    func secondTransferDuringInstall() async throws {
        let root = try Self.scratch("two-snapshots")
        defer { try? FileManager.default.removeItem(atPath: root) }
        // A large snapshot (its install takes a while) and a small, newer one.
        let older = try Self.requests(in: root + "/leader-a", count: 20_000, valueBytes: 1_000)
        let newer = try Self.requests(in: root + "/leader-b", count: 30_000, valueBytes: 8)
        let node = try Self.follower(in: root + "/follower")
        for request in older.dropLast() { _ = try await node.receiveSnapshotChunk(request) }
        let first = Task { try await node.receiveSnapshotChunk(older.last!) }
        let deadline = ContinuousClock.now + .seconds(30)
        while await !node.installingSnapshot, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(1)) }
        try #require(await node.installingSnapshot, "the first install never started")
        // Meanwhile the whole newer stream arrives and finishes (once a transfer restarts).
        var last = InstallSnapshotResponse(term: 0, followerID: 0, nextOffset: 0, installed: false)
        for request in newer { last = try await node.receiveSnapshotChunk(request) }
        let installed = [try await first.value.installed, last.installed]
        #expect(installed == [true, true])
        let applied = await node.appliedIndex
        #expect(applied == 30_000)
        #expect(try await node.range(Etcd.RangeRequest(key: Array("key-29999".utf8))).kvs.first?.value == [UInt8](repeating: UInt8(29_999 % 251), count: 8))
        #expect(try await node.range(Etcd.RangeRequest(key: Array("key-19999".utf8))).kvs.first?.value == [UInt8](repeating: UInt8(19_999 % 251), count: 8))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: root + "/follower").filter { $0.hasPrefix("snapshot.incoming") }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    @Test("a stale read during an install sees the old state or the new one, never a half-replaced one")
    func staleReadsDuringInstall() async throws {
        let root = try Self.scratch("install-reads")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let node = try Self.follower(in: root + "/follower")
        // The old state: a small snapshot with "zz" = old. The new one: 24 MiB (several RocksDB
        // batches during the install), with "zz" = new written last (keys install in order).
        for request in try Self.requests(in: root + "/leader-a", count: 10, extra: ["zz": "old"]) {
            _ = try await node.receiveSnapshotChunk(request)
        }
        #expect(try await node.get(Array("zz".utf8), consistency: .stale).value == Array("old".utf8))
        let large = try Self.requests(in: root + "/leader-b", count: 24_000, valueBytes: 1_000, extra: ["zz": "new"])
        for request in large.dropLast() { _ = try await node.receiveSnapshotChunk(request) }
        let install = Task { try await node.receiveSnapshotChunk(large.last!) }
        var seen: [String] = []
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let got = try await node.get(Array("zz".utf8), consistency: .stale)
            let value = got.found ? String(decoding: got.value, as: UTF8.self) : "nothing"
            if seen.last != value { seen.append(value) }
            if value == "new" { break }
            await Task.yield()
        }
        #expect(try await install.value.installed)
        #expect(seen == ["old", "new"] || seen == ["new"], "reads saw \(seen)")
    }
}
