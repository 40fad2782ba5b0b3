import Foundation
import GreyRaft
import GreyStorage
import Testing

@Suite("RaftStorage on RocksDB")
struct RaftStorageTests {
    /// A fresh data directory, removed afterwards.
    static func withDirectory(_ body: (String) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("grey-storage-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try body(directory)
    }

    static func entries(_ range: ClosedRange<UInt64>, term: UInt64) -> [LogEntry] {
        range.map { LogEntry(term: Term(term), index: LogIndex($0), payload: .command(Array("c\($0)".utf8))) }
    }

    static func ready(entries: [LogEntry] = [], truncateFrom: LogIndex? = nil, hardState: HardState? = nil) -> Ready {
        var ready = Ready()
        ready.entries = entries
        ready.truncateFrom = truncateFrom
        ready.hardState = hardState
        return ready
    }

    @Test("entries and hard state survive closing and reopening")
    func roundTrip() throws {
        try Self.withDirectory { directory in
            let configuration = Configuration(voters: [0, 1], learners: [2], addresses: [0: "a:1", 1: "b:2", 2: "c:3"])
            let written = Self.entries(1...3, term: 1) + [
                LogEntry(term: 2, index: 4, payload: .noop),
                LogEntry(term: 2, index: 5, payload: .config(.addLearner(2, address: "c:3"), result: configuration)),
            ]
            do {
                let storage = try RaftStorage(directory: directory, nodeID: 1)
                try storage.persist(Self.ready(entries: written, hardState: HardState(term: 2, votedFor: 0, commit: 4)))
            }
            let reopened = try RaftStorage(directory: directory, nodeID: 1)
            let state = try reopened.load()
            #expect(state.entries == written)
            #expect(state.hardState == HardState(term: 2, votedFor: 0, commit: 4))
            #expect(state.snapshot == nil)
        }
    }

    @Test("entries, a vote or a new term are synced before persist returns; a commit index alone is not (a missing fsync fails here)")
    func syncedWhenItMustBe() throws {
        try Self.withDirectory { directory in
            let storage = try RaftStorage(directory: directory, nodeID: 1, statistics: true)
            let start = try #require(storage.walSyncs(), "RocksDB statistics are not available")
            try storage.persist(Self.ready(entries: Self.entries(1...3, term: 1), hardState: HardState(term: 1, commit: 0)))
            #expect(storage.walSyncs() == start + 1, "log entries must be synced before they are acknowledged")
            var vote = Self.ready(hardState: HardState(term: 2, votedFor: 0, commit: 0))
            vote.termOrVoteChanged = true
            try storage.persist(vote)
            #expect(storage.walSyncs() == start + 2, "a vote must be synced before it is granted")
            try storage.persist(Self.ready(hardState: HardState(term: 2, votedFor: 0, commit: 3)))
            #expect(storage.walSyncs() == start + 2, "a commit index that moved alone is not synced (etcd's rule)")
        }
    }

    @Test("a conflicting suffix is replaced in the same write as the new entries")
    func truncation() throws {
        try Self.withDirectory { directory in
            let storage = try RaftStorage(directory: directory, nodeID: 1)
            try storage.persist(Self.ready(entries: Self.entries(1...5, term: 1), hardState: HardState(term: 1, commit: 2)))
            let replacement = Self.entries(3...4, term: 2)
            try storage.persist(Self.ready(entries: replacement, truncateFrom: 3, hardState: HardState(term: 2, commit: 2)))
            #expect(try storage.load().entries == Self.entries(1...2, term: 1) + replacement)
        }
    }

    @Test("state machine data and the applied index are written together")
    func applyIsAtomicWithIndex() throws {
        try Self.withDirectory { directory in
            do {
                let storage = try RaftStorage(directory: directory, nodeID: 3)
                try storage.persist(Self.ready(entries: Self.entries(1...2, term: 1), hardState: HardState(term: 1, commit: 2)))
                try storage.apply([(Array("k".utf8), Array("v1".utf8)), (Array("gone".utf8), nil)], appliedIndex: 1)
                try storage.apply([(Array("k".utf8), Array("v2".utf8))], appliedIndex: 2)
            }
            let reopened = try RaftStorage(directory: directory, nodeID: 3)
            #expect(try reopened.value(Array("k".utf8)) == Array("v2".utf8))
            #expect(try reopened.load().appliedIndex == 2)
        }
    }

    @Test("compaction drops covered entries and remembers the snapshot point")
    func compaction() throws {
        try Self.withDirectory { directory in
            let storage = try RaftStorage(directory: directory, nodeID: 1)
            try storage.persist(Self.ready(entries: Self.entries(1...6, term: 1), hardState: HardState(term: 1, commit: 6)))
            let metadata = SnapshotMetadata(index: 4, term: 1, configuration: Configuration(voters: [1, 2, 3]))
            try storage.compact(through: metadata)
            let state = try storage.load()
            #expect(state.snapshot == metadata)
            #expect(state.entries.map(\.index) == [5, 6])
        }
    }

    @Test("a data directory of another node is refused with a clear reason")
    func foreignDirectory() throws {
        try Self.withDirectory { directory in
            do { _ = try RaftStorage(directory: directory, nodeID: 1) }
            #expect(throws: StorageError.foreignDataDirectory("\(directory) holds the data of node 1, not node 2")) {
                _ = try RaftStorage(directory: directory, nodeID: 2)
            }
        }
    }

    @Test("a hole in the log or a commit index past its end is reported as damage")
    func continuity() throws {
        try Self.withDirectory { directory in
            let storage = try RaftStorage(directory: directory, nodeID: 1)
            try storage.persist(Self.ready(entries: Self.entries(1...2, term: 1) + Self.entries(4...4, term: 1)))
            #expect(throws: StorageError.corrupted("log entry i4 found where i3 was expected")) { _ = try storage.load() }
        }
        try Self.withDirectory { directory in
            let storage = try RaftStorage(directory: directory, nodeID: 1)
            try storage.persist(Self.ready(entries: Self.entries(1...2, term: 1), hardState: HardState(term: 1, commit: 9)))
            #expect(throws: StorageError.corrupted("commit index i9 is past the last log entry i2")) { _ = try storage.load() }
        }
    }

    /// Point-in-time WAL recovery (see `RocksDB.init`): replay stops at the first bad record.
    /// A crash can only tear records after the last sync, so that loses nothing synced; damage
    /// in the middle of the WAL is media corruption, and loses what follows it — but never
    /// yields a damaged, reordered or partial entry.
    @Test("damage in the middle of the write-ahead log ends the replay there: a clean prefix of the log, never a damaged entry")
    func damagedWAL() throws {
        try Self.withDirectory { directory in
            do {
                let storage = try RaftStorage(directory: directory, nodeID: 1)
                for index in 1...50 as ClosedRange<UInt64> {
                    try storage.persist(Self.ready(entries: Self.entries(index...index, term: 1)))
                }
            }
            let wal = try #require(try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".log") }.sorted().last)
            let path = directory + "/" + wal
            var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            try #require(bytes.count > 2000)
            for offset in 1000..<1016 { bytes[offset] ^= 0xFF }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let entries = try RaftStorage(directory: directory, nodeID: 1).load().entries
            #expect(entries.count < 50, "the damaged record and everything after it are dropped")
            #expect(entries == Self.entries(1...50, term: 1).prefix(entries.count).map { $0 }, "what is left is exactly the first \(entries.count) entries")
        }
    }
}
