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
        try #require(loading >= GreyNode.heldLoopWorthALine, "the log loaded in \(loading): too fast for the test to tell")
        await node.start()
        try await Task.sleep(for: .milliseconds(100))
        await node.halt()
        #expect(!lines.withLockedValue { $0 }.contains { $0.contains("event loop held") }, "loading took \(loading): \(lines.withLockedValue { $0 })")
    }
}
