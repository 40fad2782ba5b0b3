import GreyRaft
@testable import GreyStorage
import Testing

/// The state machine's batch: each command of an apply must see the ones before it, through
/// point reads and scans alike, and a command refused halfway must leave no trace.
@Suite("StateBatch: reads its own writes, rolls back a command")
struct StateBatchTests {
    static func key(_ name: String) -> [UInt8] { [RaftStorage.dataPrefix] + Array(name.utf8) }
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// Every key and value a cursor from the state prefix shows, as text.
    static func scan(_ batch: StateBatch) throws -> [String: String] {
        let cursor = batch.cursor(from: [RaftStorage.dataPrefix])
        var found: [String: String] = [:]
        while let pair = try cursor.current(), pair.key.first == RaftStorage.dataPrefix {
            found[String(decoding: pair.key.dropFirst(), as: UTF8.self)] = String(decoding: pair.value, as: UTF8.self)
            cursor.advance()
        }
        return found
    }

    /// A storage with "stored" = "0" and "doomed" = "0" written, applied index 1.
    static func withStorage(_ body: (RaftStorage) throws -> Void) throws {
        try RaftStorageTests.withDirectory { directory in
            let storage = try RaftStorage(directory: directory, nodeID: 3)
            try storage.persist(RaftStorageTests.ready(entries: RaftStorageTests.entries(1...2, term: 1), hardState: HardState(term: 1, commit: 2)))
            let first = storage.stateBatch()
            first.put(key("stored"), bytes("0"))
            first.put(key("doomed"), bytes("0"))
            try storage.writeState(first, appliedIndex: 1)
            try body(storage)
        }
    }

    @Test("writes, not the rolled-back ones, and what is added to its writes land with the applied index, across a reopen")
    func writtenAcrossReopen() throws {
        try RaftStorageTests.withDirectory { directory in
            do {
                let storage = try RaftStorage(directory: directory, nodeID: 3)
                try storage.persist(RaftStorageTests.ready(entries: RaftStorageTests.entries(1...1, term: 1), hardState: HardState(term: 1, commit: 1)))
                let batch = storage.stateBatch()
                batch.put(Self.key("kept"), Self.bytes("1"))
                try batch.setSavePoint()
                batch.put(Self.key("undone"), Self.bytes("2"))
                try batch.rollBack()
                #expect(try batch.get(Self.key("kept")) == Self.bytes("1"))
                batch.putUnread(Self.key("added"), Self.bytes("3"))
                try storage.writeState(batch, appliedIndex: 1)
            }
            let reopened = try RaftStorage(directory: directory, nodeID: 3)
            #expect(try reopened.value(Self.bytes("kept")) == Self.bytes("1"))
            #expect(try reopened.value(Self.bytes("added")) == Self.bytes("3"))
            #expect(try reopened.value(Self.bytes("undone")) == nil)
            #expect(try reopened.load().appliedIndex == 1)
        }
    }

    @Test("point reads see the batch's puts and deletes over the database, and a roll-back restores what they saw")
    func pointReads() throws {
        try Self.withStorage { storage in
            let batch = storage.stateBatch()
            #expect(try batch.get(Self.key("stored")) == Self.bytes("0"))
            batch.put(Self.key("stored"), Self.bytes("1"))
            batch.delete(Self.key("doomed"))
            #expect(try batch.get(Self.key("stored")) == Self.bytes("1"))
            #expect(try batch.get(Self.key("doomed")) == nil)
            try batch.setSavePoint()
            batch.put(Self.key("stored"), Self.bytes("2"))
            batch.put(Self.key("doomed"), Self.bytes("2"))
            batch.put(Self.key("new"), Self.bytes("2"))
            batch.delete(Self.key("stored"))
            #expect(try batch.get(Self.key("stored")) == nil)
            try batch.rollBack()
            #expect(try batch.get(Self.key("stored")) == Self.bytes("1"))
            #expect(try batch.get(Self.key("doomed")) == nil)
            #expect(try batch.get(Self.key("new")) == nil)
            try storage.writeState(batch, appliedIndex: 2)
            #expect(try storage.value(Self.bytes("stored")) == Self.bytes("1"))
            #expect(try storage.value(Self.bytes("doomed")) == nil)
            #expect(try storage.value(Self.bytes("new")) == nil)
        }
    }

    @Test("scans see the batch's writes, including those made after the first scan, and not the rolled-back ones")
    func scans() throws {
        try Self.withStorage { storage in
            let batch = storage.stateBatch()
            #expect(try Self.scan(batch) == ["stored": "0", "doomed": "0"])
            batch.put(Self.key("a"), Self.bytes("1"))
            batch.delete(Self.key("doomed"))
            #expect(try Self.scan(batch) == ["stored": "0", "a": "1"])
            batch.put(Self.key("b"), Self.bytes("1"))
            #expect(try Self.scan(batch) == ["stored": "0", "a": "1", "b": "1"])

            // The index exists before the save point: the roll-back undoes the writes in it.
            try batch.setSavePoint()
            batch.put(Self.key("c"), Self.bytes("2"))
            batch.delete(Self.key("a"))
            #expect(try Self.scan(batch) == ["stored": "0", "b": "1", "c": "2"])
            try batch.rollBack()
            #expect(try Self.scan(batch) == ["stored": "0", "a": "1", "b": "1"])
        }
    }

    @Test("a command that scans for the first time and is rolled back leaves scans as they were before it")
    func indexBuiltInsideRolledBackCommand() throws {
        try Self.withStorage { storage in
            let batch = storage.stateBatch()
            try batch.setSavePoint()
            batch.put(Self.key("a"), Self.bytes("1"))
            try batch.setSavePoint()
            batch.put(Self.key("b"), Self.bytes("2"))
            batch.delete(Self.key("stored"))
            #expect(try Self.scan(batch) == ["doomed": "0", "a": "1", "b": "2"])
            batch.put(Self.key("c"), Self.bytes("2"))
            try batch.rollBack()
            #expect(try Self.scan(batch) == ["stored": "0", "doomed": "0", "a": "1"])
            batch.put(Self.key("d"), Self.bytes("3"))
            #expect(try Self.scan(batch) == ["stored": "0", "doomed": "0", "a": "1", "d": "3"])
            try storage.writeState(batch, appliedIndex: 2)
            let written = storage.stateBatch()
            #expect(try Self.scan(written) == ["stored": "0", "doomed": "0", "a": "1", "d": "3"])
        }
    }

    @Test("values read ahead in one batched lookup come in the keys' order, nil for absent keys, repeated keys alike; a batch's own writes win over them")
    func readAhead() throws {
        try Self.withStorage { storage in
            let empty = storage.stateBatch()
            empty.put(Self.key("empty"), [])
            try storage.writeState(empty, appliedIndex: 2)
            let keys = ["doomed", "absent", "stored", "empty", "stored"].map(Self.key)
            #expect(try storage.stateValues(keys) == [Self.bytes("0"), nil, Self.bytes("0"), [], Self.bytes("0")])
            #expect(try storage.stateValues([]) == [])
            let batch = storage.stateBatch()
            let stored = try storage.stateValues([Self.key("stored"), Self.key("doomed")])
            batch.put(Self.key("stored"), Self.bytes("1"))
            batch.delete(Self.key("doomed"))
            #expect(batch.get(Self.key("stored"), stored: stored[0]) == Self.bytes("1"))
            #expect(batch.get(Self.key("doomed"), stored: stored[1]) == nil)
            #expect(batch.get(Self.key("other"), stored: Self.bytes("9")) == Self.bytes("9"))
        }
    }

    @Test("a key written many times reaches the database once, with its last value: a put, a delete, a roll-back and a write again alike")
    func lastWriteOnly() throws {
        try Self.withStorage { storage in
            let batch = storage.stateBatch()
            for round in 1...50 { batch.put(Self.key("hot"), Self.bytes("v\(round)")) }
            batch.put(Self.key("stored"), Self.bytes("1"))
            batch.delete(Self.key("stored"))
            batch.put(Self.key("doomed"), Self.bytes("1"))
            try batch.setSavePoint()
            batch.put(Self.key("again"), Self.bytes("undone"))
            batch.put(Self.key("hot"), Self.bytes("undone"))
            try batch.rollBack()
            batch.put(Self.key("again"), Self.bytes("2"))
            batch.put(Self.key("again"), Self.bytes("3"))
            batch.putUnread(Self.key("unread"), Self.bytes("u"))
            #expect(try Self.scan(batch) == ["hot": "v50", "doomed": "1", "again": "3"])
            batch.seal()
            // hot, stored (deleted), doomed, again: once each; then the unread write.
            #expect(batch.writes.count == 5)
            try storage.writeState(batch, appliedIndex: 2)
            #expect(try storage.value(Self.bytes("hot")) == Self.bytes("v50"))
            #expect(try storage.value(Self.bytes("stored")) == nil)
            #expect(try storage.value(Self.bytes("doomed")) == Self.bytes("1"))
            #expect(try storage.value(Self.bytes("again")) == Self.bytes("3"))
            #expect(try storage.value(Self.bytes("unread")) == Self.bytes("u"))
            #expect(try storage.load().appliedIndex == 2)
        }
    }

    @Test("a sealed batch orders its keys as RocksDB does (bytewise, unsigned, a prefix first)")
    func sealedKeyOrder() throws {
        try Self.withStorage { storage in
            var random = SystemRandomNumberGenerator()
            var keys: Set<[UInt8]> = [Self.key(""), Self.key("a"), Self.key("a\u{0}"), Self.key("ab"), [RaftStorage.dataPrefix, 0x80], [RaftStorage.dataPrefix, 0xFF, 0x00]]
            while keys.count < 300 {
                keys.insert([RaftStorage.dataPrefix] + (0..<Int.random(in: 0...6, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) })
            }
            let batch = storage.stateBatch()
            for key in keys { batch.put(key, [1]) }
            try storage.writeState(batch, appliedIndex: 2)
            let cursor = storage.stateCursor(from: [RaftStorage.dataPrefix])
            var scanned: [[UInt8]] = []
            while let pair = try cursor.current(), pair.key.first == RaftStorage.dataPrefix {
                if keys.contains(Array(pair.key)) { scanned.append(Array(pair.key)) }
                cursor.advance()
            }
            #expect(scanned == keys.sorted(by: StateBatch.precedes))
        }
    }

    @Test("a ByteKey is its bytes: equal bytes find each other in a map, a prefix, an extra zero or another byte do not")
    func byteKeys() {
        var map: [ByteKey: Int] = [:]
        map[ByteKey([1, 2, 3])] = 1
        map[ByteKey([1, 2])] = 2
        map[ByteKey([1, 2, 3, 0])] = 3
        map[ByteKey([])] = 4
        #expect(map[ByteKey(Array([9, 1, 2, 3].dropFirst()))] == 1)
        #expect(map[ByteKey([1, 2])] == 2)
        #expect(map[ByteKey([1, 2, 3, 0])] == 3)
        #expect(map[ByteKey([])] == 4)
        #expect(map[ByteKey([1, 2, 4])] == nil)
        #expect(map.count == 4)
    }
}
