import Foundation
import GreyRaft
import GreyStorage
import NIOConcurrencyHelpers
import Testing

@testable import GreyNode

/// The report of a held event loop (`GreyNode+HeldLoop`) on a real GreyNode over real RocksDB;
/// the SIGSTOP case is in the replication-view process test.
@Suite("held event loops")
struct HeldLoopTests {
    @Test("a node that took a while to load its log reports no stall for it: its clock starts once the log is loaded")
    func loadingIsNoStall() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("grey-held-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let storage = try RaftStorage(directory: directory, nodeID: 1)
            var ready = Ready()
            ready.entries = (1...200_000).map { LogEntry(term: 1, index: LogIndex($0), payload: .command(Array("command \($0)".utf8))) }
            ready.hardState = HardState(term: 1)
            try storage.persist(ready)
        }
        let lines = NIOLockedValueBox<[String]>([])
        let storage = try RaftStorage(directory: directory, nodeID: 1)
        let configuration = NodeConfiguration(
            id: 1, listenHost: "127.0.0.1", listenPort: 2, advertiseAddress: "127.0.0.1:2", peers: [], dataDirectory: directory, seed: 1)
        let opened = ContinuousClock.now
        let node = try GreyNode(configuration: configuration, storage: storage, bootstrap: SnapshotInstallTests.members) { line in
            lines.withLockedValue { $0.append(line) }
        }
        let loading = ContinuousClock.now - opened
        try #require(loading >= GreyNode.heldLoopWorthALine * 2, "the log loaded in \(loading): too fast for the test to tell")
        await node.start()
        try await Task.sleep(for: .milliseconds(100))
        await node.halt()
        // A stall as long as the load would be the load; a shorter one is the machine (a busy
        // CI runner can hold any loop for a while) and not what this test is about.
        let reported = lines.withLockedValue { $0 }.compactMap(Self.longestStall)
        #expect(reported.allSatisfy { $0 < loading / 2 }, "loading took \(loading): \(lines.withLockedValue { $0 })")
    }

    /// The longest stall a held-loop line reports ("... the longest 412 ms without a tick ...").
    static func longestStall(_ line: String) -> Duration? {
        guard line.contains("event loop held"), let range = line.range(of: "the longest ") else { return nil }
        return Int(line[range.upperBound...].prefix { $0.isNumber }).map { .milliseconds($0) }
    }
}
