import Foundation
import GreyRaft
import GreyWire
import Testing

@testable import GreyStorage

@Suite("Snapshots in storage: format, transfer chunks, install, restore")
struct SnapshotStorageTests {
    static let configuration = Configuration(voters: [0, 1, 2], addresses: [0: "a:1", 1: "b:2", 2: "c:3"])

    /// A store holding `count` keys applied through index `count`.
    static func filledStore(_ directory: String, count: Int, valueBytes: Int = 100) throws -> RaftStorage {
        let storage = try RaftStorage(directory: directory, nodeID: 0)
        let changes = (0..<count).map { (key: Array("key-\($0)".utf8), value: Optional([UInt8](repeating: UInt8($0 % 251), count: valueBytes))) }
        try storage.persist(RaftStorageTests.ready(entries: RaftStorageTests.entries(1...UInt64(count), term: 3), hardState: HardState(term: 3, commit: LogIndex(UInt64(count)))))
        try storage.apply(changes, appliedIndex: LogIndex(UInt64(count)))
        return storage
    }

    /// The whole snapshot stream of `storage`, produced in chunks of `chunk` bytes.
    static func stream(_ storage: RaftStorage, chunk: Int) throws -> (SnapshotMetadata, [[UInt8]]) {
        let view = storage.freeze()
        let applied = try RaftStorage.appliedIndex(in: view)
        let metadata = SnapshotMetadata(index: applied, term: 3, configuration: configuration)
        let source = SnapshotSource(view: view, metadata: metadata)
        var chunks: [[UInt8]] = []
        while true {
            let next = try source.nextChunk(maxBytes: chunk)
            #expect(next.offset == UInt64(chunks.reduce(0) { $0 + $1.count }))
            chunks.append(next.data)
            if next.done { return (metadata, chunks) }
        }
    }

    static func write(_ chunks: [[UInt8]], to path: String) throws {
        try Data(chunks.flatMap { $0 }).write(to: URL(fileURLWithPath: path))
    }

    @Test("CRC-32C matches the standard check value")
    func crcCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        var split = CRC32C()
        split.update(Array("1234".utf8))
        split.update(Array("56789".utf8))
        #expect(split.value == 0xE306_9283)
    }

    @Test("a snapshot read in odd-sized chunks decodes to every key, and writes after the view do not leak in")
    func roundTripThroughChunks() throws {
        try RaftStorageTests.withDirectory { directory in
            let storage = try Self.filledStore(directory, count: 500)
            let view = storage.freeze()
            try storage.apply([(key: Array("late".utf8), value: [1])], appliedIndex: 501)
            let source = SnapshotSource(view: view, metadata: SnapshotMetadata(index: try RaftStorage.appliedIndex(in: view), term: 3, configuration: Self.configuration))
            var decoder = SnapshotDecoder()
            var seen: [String: [UInt8]] = [:]
            var done = false
            while !done {
                let chunk = try source.nextChunk(maxBytes: 777)
                try decoder.feed(chunk.data) { key, value in seen[String(decoding: key, as: UTF8.self)] = value }
                done = chunk.done
            }
            try decoder.finish()
            #expect(decoder.metadata?.index == 500)
            #expect(decoder.metadata?.configuration == Self.configuration)
            #expect(seen.count == 500)
            #expect(seen["key-7"] == [UInt8](repeating: 7, count: 100))
            #expect(seen["late"] == nil)
            // Starting over yields the same bytes (a follower that restarted asks for byte 0).
            source.restart()
            let again = try source.nextChunk(maxBytes: 777)
            #expect(again.offset == 0)
        }
    }

    @Test("a flipped byte or a cut-off stream is refused with the reason")
    func damageIsDetected() throws {
        try RaftStorageTests.withDirectory { directory in
            let storage = try Self.filledStore(directory, count: 50)
            let (_, chunks) = try Self.stream(storage, chunk: 1 << 20)
            let bytes = chunks.flatMap { $0 }
            var flipped = bytes
            flipped[bytes.count / 2] ^= 0x01
            var decoder = SnapshotDecoder()
            #expect(throws: StorageError.self) {
                try decoder.feed(flipped) { _, _ in }
                try decoder.finish()
            }
            var truncated = SnapshotDecoder()
            try truncated.feed(bytes.dropLast(20)) { _, _ in }
            #expect(throws: StorageError.badSnapshot("truncated after 49 records: no trailer")) { try truncated.finish() }
            var notOurs = SnapshotDecoder()
            #expect(throws: StorageError.badSnapshot("not a Grey snapshot (bad magic)")) {
                try notOurs.feed(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)) { _, _ in }
            }
        }
    }

    @Test("installing replaces the state and the log; an install cut short is finished at the next open")
    func installIsAtomic() throws {
        try RaftStorageTests.withDirectory { source in
            try RaftStorageTests.withDirectory { target in
                let (metadata, chunks) = try Self.stream(try Self.filledStore(source, count: 300), chunk: 4096)
                let file = source + "-snapshot"
                defer { try? FileManager.default.removeItem(atPath: file) }
                try Self.write(chunks, to: file)
                do {
                    let follower = try RaftStorage(directory: target, nodeID: 1)
                    try follower.persist(RaftStorageTests.ready(entries: RaftStorageTests.entries(1...20, term: 1), hardState: HardState(term: 3, commit: 10)))
                    try follower.apply([(key: Array("stale-key".utf8), value: [9])], appliedIndex: 10)
                    // A crash after the marker was written but before the install finished:
                    let marker = WriteBatch(for: follower.database)
                    marker.put("meta", RaftStorage.installingKey, Array(file.utf8))
                    try follower.database.write(marker, sync: true)
                }
                do {
                    let reopened = try RaftStorage(directory: target, nodeID: 1)
                    let state = try reopened.load()
                    #expect(state.snapshot?.index == metadata.index)
                    #expect(state.entries.isEmpty)
                    #expect(state.appliedIndex == 300)
                    #expect(try reopened.value(Array("stale-key".utf8)) == nil)
                    #expect(try reopened.value(Array("key-299".utf8)) == [UInt8](repeating: UInt8(299 % 251), count: 100))
                }

                // The marker is gone: the next open does not install again, and a missing file
                // is only fatal while an install is pending.
                try FileManager.default.removeItem(atPath: file)
                _ = try RaftStorage(directory: target, nodeID: 1).load()
            }
        }
    }

    @Test("an interrupted install whose file is gone refuses to start")
    func interruptedInstallWithoutFile() throws {
        try RaftStorageTests.withDirectory { directory in
            do {
                let storage = try RaftStorage(directory: directory, nodeID: 1)
                let marker = WriteBatch(for: storage.database)
                marker.put("meta", RaftStorage.installingKey, Array("/nonexistent/snapshot".utf8))
                try storage.database.write(marker, sync: true)
            }
            #expect(throws: StorageError.corrupted("a snapshot install was interrupted and its file /nonexistent/snapshot is gone; the state machine is incomplete")) {
                try RaftStorage(directory: directory, nodeID: 1).load()
            }
        }
    }

    @Test("restore seeds a new directory that adopts its new cluster's membership")
    func restoreSeedsNewCluster() throws {
        try RaftStorageTests.withDirectory { source in
            try RaftStorageTests.withDirectory { target in
                let (metadata, chunks) = try Self.stream(try Self.filledStore(source, count: 120), chunk: 1 << 20)
                let file = source + "-backup"
                defer { try? FileManager.default.removeItem(atPath: file) }
                try Self.write(chunks, to: file)
                let restored = try RaftStorage.restore(from: file, into: target)
                #expect(restored.index == metadata.index)
                #expect(throws: StorageError.self) { try RaftStorage.restore(from: file, into: target) }
                let storage = try RaftStorage(directory: target, nodeID: 7)
                #expect(try storage.isRestoredSeed())
                let newCluster = Configuration(voters: [7, 8, 9], addresses: [7: "x:1", 8: "x:2", 9: "x:3"])
                try storage.saveBootstrapConfiguration(newCluster)
                #expect(try !storage.isRestoredSeed())
                let state = try storage.load()
                #expect(state.snapshot?.configuration == newCluster)
                #expect(state.appliedIndex == 120)
                #expect(state.hardState.term == 3)
                #expect(try storage.value(Array("key-5".utf8)) != nil)
            }
        }
    }
}
