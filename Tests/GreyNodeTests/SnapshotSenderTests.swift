import Foundation
import GreyRPC
import GreyRaft
import GreyStorage
import GreyWire
import NIOPosix
import Testing

@testable import GreyNode

/// The leader's side of a snapshot transfer to a follower that does not answer.
@Suite("Snapshot sender")
struct SnapshotSenderTests {
    /// A port nothing listens on: bound, read and closed again.
    static func closedPort() throws -> Int {
        let channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).wait()
        let port = channel.localAddress!.port!
        try channel.close().wait()
        return port
    }

    static func sender(in directory: String, maxFailures: Int) throws -> SnapshotSender {
        let storage = try RaftStorage(directory: directory, nodeID: 0)
        try storage.apply([(key: Array("k".utf8), value: Optional(Array("v".utf8)))], appliedIndex: 5)
        let source = SnapshotSource(view: storage.freeze(), metadata: SnapshotMetadata(index: 5, term: 2, configuration: SnapshotInstallTests.members))
        var sender = SnapshotSender(
            source: source, channel: try GRPCChannel(target: "127.0.0.1:\(try closedPort())"), term: 2, leader: 0,
            queue: DispatchQueue(label: "test.snapshot"))
        sender.maxFailures = maxFailures
        return sender
    }

    /// Counts the sender's questions; `stale` after that many, the snapshot is stale.
    final class Asked: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        let staleAfter: Int

        init(staleAfter: Int) {
            self.staleAfter = staleAfter
        }

        func ask() -> Bool {
            lock.lock()
            defer { lock.unlock() }
            count += 1
            return count <= staleAfter
        }

        var asked: Int {
            lock.lock()
            defer { lock.unlock() }
            return count
        }
    }

    @Test("a snapshot the leader's log moved past while the follower was away is given up before the follower takes it, not sent when it comes back")
    func staleBeforeFirstChunk() async throws {
        let root = try SnapshotInstallTests.scratch("sender-stale")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let sender = try Self.sender(in: root, maxFailures: 10)
        let current = Asked(staleAfter: 2)  // two tries of the first chunk fail, then the log is compacted past index 5
        await #expect(throws: SnapshotSender.Outdated.self) {
            _ = try await sender.run(stillLeading: { true }, stillCurrent: { current.ask() })
        }
        #expect(current.asked == 3)
    }

    @Test("a snapshot that stays current is retried up to the failure limit, then the transfer stops with the connection's error")
    func currentIsRetried() async throws {
        let root = try SnapshotInstallTests.scratch("sender-current")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let sender = try Self.sender(in: root, maxFailures: 3)
        let current = Asked(staleAfter: .max)
        do {
            _ = try await sender.run(stillLeading: { true }, stillCurrent: { current.ask() })
            Issue.record("a transfer to a closed port succeeded")
        } catch let status as GRPCStatus {
            #expect(status.code == .unavailable)
        }
        #expect(current.asked == 3)
    }
}
