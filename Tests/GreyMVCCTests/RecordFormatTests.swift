import GreyStorage
import GreyWire
import Testing

@testable import GreyMVCC

/// The compact records (varints) and the fixed-width ones earlier builds wrote: both read, the
/// same versions and history, and the same hashes.
@Suite("MVCC record formats")
struct RecordFormatTests {
    typealias Harness = MVCCStoreTests.Harness

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    static let samples: [StoredVersion] = [
        StoredVersion(createRevision: 2, version: 1, lease: 0, value: bytes("v")),
        StoredVersion(createRevision: 1 << 40, version: 300, lease: 7_587_869_958_172_100_000, value: []),
        StoredVersion(createRevision: 127, version: 128, lease: -1, value: [UInt8](repeating: 0xFF, count: 300)),
        .tombstone,
    ]

    @Test("a version's record and a current slot decode alike from either form, at revisions small and large")
    func recordsRoundTrip() throws {
        for stored in Self.samples {
            for revision: Int64 in [1, 127, 128, 200_000, 1 << 50] {
                let key = MVCCKeys.current(Self.bytes("k"))
                for value in [MVCCKeys.slotValue(revision, stored), MVCCKeys.legacySlotValue(revision, stored)] {
                    let entry = try #require(key.withUnsafeBytes { k in value.withUnsafeBytes { MVCCKeys.decodeEntry(key: k, value: $0) } })
                    #expect(entry.revision == revision && entry.stored == stored && entry.isCurrent)
                }
                let older = MVCCKeys.version(Self.bytes("k"), revision)
                for value in [stored.encoded, stored.legacyEncoded] {
                    let entry = try #require(older.withUnsafeBytes { k in value.withUnsafeBytes { MVCCKeys.decodeEntry(key: k, value: $0) } })
                    #expect(entry.revision == revision && entry.stored == stored && !entry.isCurrent)
                }
            }
        }
    }

    @Test("a new key's current slot holds its value and 7 more bytes, not 33")
    func slotIsCompact() {
        let stored = StoredVersion(createRevision: 200_000, version: 1, lease: 0, value: [UInt8](repeating: 1, count: 100))
        #expect(MVCCKeys.slotValue(200_000, stored).count == 100 + 9)
        #expect(MVCCKeys.legacySlotValue(200_000, stored).count == 100 + 33)
        let record = HistoryRecord.encode((0..<100).map { (Int64(200_000 + $0), Self.bytes("key-\($0 % 10)")) })
        #expect(record.count == 1 + 3 + 99 + 100 * (1 + 5), "a varint distance and length a write")
    }

    @Test("a record cut short or with an unknown tag does not decode")
    func truncatedRecordsRefused() {
        let key = MVCCKeys.current(Self.bytes("k"))
        for stored in Self.samples.dropLast() {
            let slot = MVCCKeys.slotValue(1 << 40, stored)
            // Everything up to the value: the tag, the revision and the varints.
            let header = slot.count - (stored.value?.count ?? 0)
            for cut in 0..<header {
                let value = Array(slot.prefix(cut))
                #expect(key.withUnsafeBytes { k in value.withUnsafeBytes { MVCCKeys.decodeEntry(key: k, value: $0) } } == nil, "cut at \(cut)")
            }
        }
        for tag: UInt8 in [0x03, 0x10, 0x13, 0xFF] {
            let value: [UInt8] = [tag, 1, 1, 1, 0]
            #expect(value.withUnsafeBytes { StoredVersion(decoding: $0) } == nil)
        }
        let tombstoneWithTail: [UInt8] = [StoredVersion.tombstoneTag, 5, 0]
        #expect(key.withUnsafeBytes { k in tombstoneWithTail.withUnsafeBytes { MVCCKeys.decodeEntry(key: k, value: $0) } } == nil)
        // A record cut between two writes is a whole shorter one; its key, which names its last
        // revision, tells it apart.
        let record = HistoryRecord.encode([(5, Self.bytes("abc")), (6, Self.bytes("d"))])
        let recordKey = MVCCKeys.historyRecord(through: 6)
        #expect(recordKey.withUnsafeBytes { k in record.withUnsafeBytes { MVCCKeys.decodeHistory(key: k, value: $0) } }?.count == 2)
        for cut in 1..<record.count {
            let value = Array(record.prefix(cut))
            #expect(recordKey.withUnsafeBytes { k in value.withUnsafeBytes { MVCCKeys.decodeHistory(key: k, value: $0) } } == nil, "cut at \(cut)")
        }
    }

    @Test("a history record decodes alike from either form: revisions, subs and keys")
    func historyRoundTrip() throws {
        let writes: [(revision: Int64, key: [UInt8])] = [(3, Self.bytes("a")), (3, Self.bytes("b")), (4, []), (1 << 45, Self.bytes("c"))]
        let compact = try #require(HistoryRecord.encode(writes).withUnsafeBytes { HistoryRecord.decode($0) })
        let legacy = try #require(HistoryRecord.legacyEncode(writes).withUnsafeBytes { HistoryRecord.decode($0) })
        #expect(compact == legacy)
        #expect(compact.map(\.revision) == writes.map(\.revision) && compact.map(\.sub) == [0, 1, 0, 0] && compact.map(\.key) == writes.map(\.key))
    }

    /// Rewrites every version and history record of `h` in the fixed-width form, as a build
    /// before the compact records would have written them; returns how many values changed.
    static func rewriteInLegacyForm(_ h: Harness) throws -> Int {
        let batch = h.storage.stateBatch()
        var changed = 0
        let cursor = h.storage.stateCursor(from: MVCCKeys.versions)
        while let pair = try cursor.current(), MVCCKeys.isVersion(pair.key) || MVCCKeys.isHistory(pair.key) {
            let key = [UInt8](pair.key)
            let legacy: [UInt8]
            if MVCCKeys.isVersion(pair.key) {
                let entry = try #require(MVCCKeys.decodeEntry(key: pair.key, value: pair.value))
                legacy = MVCCKeys.legacyValue(of: entry)
            } else {
                let writes = try #require(MVCCKeys.decodeHistory(key: pair.key, value: pair.value))
                legacy = HistoryRecord.legacyEncode(writes.map { ($0.revision, $0.key) })
            }
            if legacy != [UInt8](pair.value) { changed += 1 }
            batch.put(key, legacy)
            cursor.advance()
        }
        try h.storage.writeState(batch)
        return changed
    }

    /// What fsck reports of the store.
    static func summary(_ h: Harness) throws -> String {
        let report = try h.store.check()
        return "\(report.keys) keys, \(report.versions) versions, revision \(report.revision), compacted \(report.compacted), due \(report.compactionDue ?? 0)"
    }

    /// Every key at every revision from 1 through the store's, as a client reads it.
    static func everyRevision(_ h: Harness) throws -> [[Etcd.KeyValue]] {
        let compacted = try h.store.check().compacted
        return try (max(compacted, 1)...h.store.revision()).map { revision in
            try h.store.range(Etcd.RangeRequest(key: [0], rangeEnd: [0], revision: revision)).kvs
        }
    }

    @Test("a store written in the fixed-width form by an earlier build reads, checks and hashes as the compact one; writes and a compaction on top of it keep them alike")
    func legacyStoreReadsAlike() throws {
        let compact = try Harness()
        let legacy = try Harness()
        var commands: [MVCCCommand] = []
        for round in 0..<20 { commands.append(.put(Etcd.PutRequest(key: Self.bytes("k\(round % 6)"), value: Self.bytes("v\(round)")))) }
        commands.append(.deleteRange(Etcd.DeleteRangeRequest(key: Self.bytes("k2"))))
        commands.append(.txn(Etcd.TxnRequest(success: [
            .put(Etcd.PutRequest(key: Self.bytes("t1"), value: Self.bytes("x"))), .put(Etcd.PutRequest(key: Self.bytes("t2"), value: Self.bytes("y"))),
        ])))
        for harness in [compact, legacy] {
            try harness.apply(Array(commands.prefix(10)))
            for command in commands.dropFirst(10) { try harness.apply([command]) }
        }
        #expect(try Self.rewriteInLegacyForm(legacy) > 20, "the rewrite changed the records")
        #expect(try Self.summary(legacy) == Self.summary(compact))
        #expect(try Self.everyRevision(legacy) == Self.everyRevision(compact))
        #expect(try legacy.store.hashAll() == compact.store.hashAll())
        #expect(try legacy.store.hashKV(revision: 0).hash == compact.store.hashKV(revision: 0).hash)
        #expect(try legacy.store.hashKV(revision: 12).hash == compact.store.hashKV(revision: 12).hash)

        // New writes over fixed-width versions (each moved under its revision in the compact
        // form), then a compaction through the middle of both forms.
        let more: [MVCCCommand] = [
            .put(Etcd.PutRequest(key: Self.bytes("k0"), value: Self.bytes("new"), prevKV: true)),
            .put(Etcd.PutRequest(key: Self.bytes("k2"), value: Self.bytes("back"))),
            .deleteRange(Etcd.DeleteRangeRequest(key: Self.bytes("t"), rangeEnd: Self.bytes("u"), prevKV: true)),
        ]
        let outcomes = try [compact, legacy].map { try $0.apply(more) }
        #expect("\(outcomes[0])" == "\(outcomes[1])")
        for harness in [compact, legacy] {
            _ = try harness.apply([.compact(Etcd.CompactionRequest(revision: 15))])
            while try harness.store.compactStep(budget: 4) {}
        }
        #expect(try Self.summary(legacy) == Self.summary(compact))
        #expect(try legacy.versionsOnDisk() == compact.versionsOnDisk())
        #expect(try legacy.historyOnDisk() == compact.historyOnDisk())
        #expect(try Self.everyRevision(legacy) == Self.everyRevision(compact))
        #expect(try legacy.store.hashAll() == compact.store.hashAll())
        #expect(try legacy.store.hashKV(revision: 0).hash == compact.store.hashKV(revision: 0).hash)
    }
}
