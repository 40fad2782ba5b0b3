import GreyStorage
import GreyWire

/// Where the MVCC store keeps things in the state column family. Every key starts with the
/// state machine's prefix (`RaftStorage.dataPrefix`, 0x01: a snapshot carries exactly the keys
/// under it, and the applied index sorts before them):
///
///     0x01 0x00 "mvcc-revision"                 the store's revision (big-endian u64)
///     0x01 0x00 "mvcc-compacted"                the revision compacted through
///     0x01 0x00 "mvcc-compaction-due"           present while the versions a compaction made
///                                               unreachable are still being removed: its revision
///     0x01 0x00 "mvcc-alarms"                   the raised alarms (`AlarmSet`), absent when none is
///     0x01 0x02 key* 0x00 0x01                  a key's newest version: its revision and its record
///                                               (`MVCCKeys.slotValue`)
///     0x01 0x02 key* 0x00 0x01 ~revision        an older version of the key: its record (`StoredVersion`)
///     0x01 0x03 revision                        the history of one apply: what each of its
///                                               writes changed, through `revision`, its last
///                                               (`HistoryRecord`)
///     0x01 0x03 revision sub                    the history of one write, as builds before
///                                               records wrote it (and `adoptLegacyState`): the key
///
/// `key*` is the user key with every 0x00 written 0x00 0xFF, and 0x00 0x01 ends it, so index
/// keys sort by user key first (a key sorts before every longer key it begins), then newest
/// first: the newest version under the bare key (the "current slot"), older ones after it by
/// `~revision`, big-endian. Writing a key reads its current slot with a point lookup (no
/// iterator), moves that version under its revision, and puts the new one in the slot;
/// reading the latest is one seek per key, an older revision a second; the history by
/// revision (what a watch replays) is a scan of 0x03, from the first record whose last
/// revision is at or past the one asked for. One history record per apply, not one key per
/// write: a key per write was a third of a replaying follower's memtable inserts.
enum MVCCKeys {
    static let namespace: UInt8 = RaftStorage.dataPrefix
    static let versionTag: UInt8 = 0x02
    static let historyTag: UInt8 = 0x03
    static let revisionKey = [namespace] + Array("\u{0}mvcc-revision".utf8)
    static let compactedKey = [namespace] + Array("\u{0}mvcc-compacted".utf8)
    static let compactionDueKey = [namespace] + Array("\u{0}mvcc-compaction-due".utf8)
    static let alarmsKey = [namespace] + Array("\u{0}mvcc-alarms".utf8)
    /// The first index key, and the first history key.
    static let versions: [UInt8] = [namespace, versionTag]
    static let historyStart: [UInt8] = [namespace, historyTag]

    /// Whether a state key is an index key (of any user key).
    static func isVersion(_ stateKey: UnsafeRawBufferPointer) -> Bool {
        stateKey.count >= 2 && stateKey[0] == namespace && stateKey[1] == versionTag
    }

    /// The first index key of `key` and of every key after it.
    static func start(of key: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = versions
        bytes.reserveCapacity(key.count + 11)
        for byte in key {
            bytes.append(byte)
            if byte == 0 { bytes.append(0xFF) }
        }
        return bytes
    }

    /// The index key of `key`'s newest version (its current slot).
    static func current(_ key: [UInt8]) -> [UInt8] {
        var bytes = start(of: key)
        bytes.append(0x00)
        bytes.append(0x01)
        return bytes
    }

    /// The index key of an older version of `key`, written at `revision`.
    static func version(_ key: [UInt8], _ revision: Int64) -> [UInt8] {
        var bytes = current(key)
        appendBigEndian(&bytes, ~UInt64(revision))
        return bytes
    }

    /// A current slot's value: the record's tag, the version's revision (a varint), then the
    /// rest of its record (`StoredVersion.encoded`).
    ///
    /// Builds before the compact records wrote the revision as 8 big-endian bytes followed by
    /// the whole fixed-width record (`legacySlotValue`); such a value starts with 0x00 (no
    /// revision reaches 2^56), a compact one with its tag, so both are read.
    static func slotValue(_ revision: Int64, _ stored: StoredVersion) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16 + (stored.value?.count ?? 0))
        stored.encode(into: &bytes, revision: revision)
        return bytes
    }

    /// A current slot's value as builds before the compact records wrote it: what Hash and
    /// HashKV hash, so replicas hash alike whichever build wrote their versions.
    static func legacySlotValue(_ revision: Int64, _ stored: StoredVersion) -> [UInt8] {
        var bytes: [UInt8] = []
        appendBigEndian(&bytes, UInt64(revision))
        return bytes + stored.legacyEncoded
    }

    /// An index entry, current slot or older version, as a version of a key.
    static func decodeEntry(key indexKey: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) -> IndexEntry? {
        guard let (key, suffix) = decodeIndexKey(indexKey) else { return nil }
        if let revision = suffix {
            guard let stored = StoredVersion(decoding: value) else { return nil }
            return IndexEntry(key: key, revision: revision, stored: stored, isCurrent: false)
        }
        guard let first = value.first else { return nil }
        if first == 0 {
            guard value.count >= 8, let stored = StoredVersion(decoding: UnsafeRawBufferPointer(rebasing: value[8...])) else { return nil }
            return IndexEntry(key: key, revision: Int64(bitPattern: readBigEndian(value, at: 0)), stored: stored, isCurrent: true)
        }
        guard let (stored, revision) = StoredVersion.decode(value, withRevision: true), let revision else { return nil }
        return IndexEntry(key: key, revision: revision, stored: stored, isCurrent: true)
    }

    /// An index entry's value as builds before the compact records wrote it (what the hashes hash).
    static func legacyValue(of entry: IndexEntry) -> [UInt8] {
        entry.isCurrent ? legacySlotValue(entry.revision, entry.stored) : entry.stored.legacyEncoded
    }

    /// The first index key after every version of `key`.
    static func pastVersions(of key: [UInt8]) -> [UInt8] {
        var bytes = start(of: key)
        bytes.append(0x00)
        bytes.append(0x02)
        return bytes
    }

    /// The user key of an index key, and the revision it names (nil for the current slot);
    /// nil if it is not an index key.
    static func decodeIndexKey(_ indexKey: UnsafeRawBufferPointer) -> (key: [UInt8], revision: Int64?)? {
        guard indexKey.count >= 4, isVersion(indexKey) else { return nil }
        var key: [UInt8] = []
        key.reserveCapacity(indexKey.count - 4)
        var offset = 2
        while offset + 1 < indexKey.count {
            let byte = indexKey[offset]
            if byte == 0 {
                let next = indexKey[offset + 1]
                if next == 0x01 { break }
                guard next == 0xFF else { return nil }
                key.append(0)
                offset += 2
            } else {
                key.append(byte)
                offset += 1
            }
        }
        guard offset + 1 < indexKey.count, indexKey[offset] == 0, indexKey[offset + 1] == 0x01 else { return nil }
        let rest = indexKey.count - (offset + 2)
        if rest == 0 { return (key, nil) }
        guard rest == 8 else { return nil }
        return (key, Int64(bitPattern: ~readBigEndian(indexKey, at: offset + 2)))
    }

    /// The history key of write `sub` of `revision`: the form of one write's history before
    /// history records (still read; `adoptLegacyState` writes it).
    static func history(_ revision: Int64, _ sub: Int64) -> [UInt8] {
        var bytes = historyStart
        appendBigEndian(&bytes, UInt64(revision))
        appendBigEndian(&bytes, UInt64(sub))
        return bytes
    }

    /// The key of a history record whose last write is at `revision`.
    static func historyRecord(through revision: Int64) -> [UInt8] {
        var bytes = historyStart
        appendBigEndian(&bytes, UInt64(revision))
        return bytes
    }

    /// Whether a state key is a history key (of either form).
    static func isHistory(_ stateKey: UnsafeRawBufferPointer) -> Bool {
        stateKey.count >= 2 && stateKey[0] == namespace && stateKey[1] == historyTag
    }

    /// The revision a history key is filed under: its record's last, or its one write's. Every
    /// write it holds is at or below it, so a compaction through a revision removes every key
    /// filed at or below it.
    static func historyRevision(_ historyKey: UnsafeRawBufferPointer) -> Int64? {
        guard isHistory(historyKey), historyKey.count == 10 || historyKey.count == 18 else { return nil }
        return Int64(bitPattern: readBigEndian(historyKey, at: 2))
    }

    /// The writes a history key and its value hold, in order: a record's, or the one write of
    /// the older form. nil if they do not decode.
    static func decodeHistory(key historyKey: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) -> [HistoryRecord.Write]? {
        guard let revision = historyRevision(historyKey) else { return nil }
        if historyKey.count == 18 {
            return [HistoryRecord.Write(revision: revision, sub: Int64(bitPattern: readBigEndian(historyKey, at: 10)), key: [UInt8](value))]
        }
        guard let writes = HistoryRecord.decode(value), writes.last?.revision == revision else { return nil }
        return writes
    }

    static func appendBigEndian(_ bytes: inout [UInt8], _ value: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    static func readBigEndian(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt64 {
        (offset..<offset + 8).reduce(0) { $0 << 8 | UInt64(bytes[$1]) }
    }

    /// Appends `value` as a varint (LEB128, protobuf's): 7 bits a byte, low first.
    static func appendVarint(_ bytes: inout [UInt8], _ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    /// The varint at `offset`, moving `offset` past it; nil if it runs past the end or past 64 bits.
    static func readVarint(_ bytes: UnsafeRawBufferPointer, at offset: inout Int) -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while offset < bytes.count, shift < 64 {
            let byte = bytes[offset]
            offset += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
        return nil
    }

    static func encodeRevision(_ revision: Int64) -> [UInt8] {
        var bytes: [UInt8] = []
        appendBigEndian(&bytes, UInt64(revision))
        return bytes
    }

    static func decodeRevision(_ bytes: [UInt8]) -> Int64? {
        guard bytes.count == 8 else { return nil }
        return bytes.withUnsafeBytes { Int64(bitPattern: readBigEndian($0, at: 0)) }
    }
}

/// One version of a key as the index holds it.
struct IndexEntry {
    var key: [UInt8]
    var revision: Int64
    var stored: StoredVersion
    /// Whether it sits in the key's current slot (it is the key's newest version).
    var isCurrent: Bool

    /// The key as a client sees it at this version; nil for a tombstone.
    var keyValue: Etcd.KeyValue? {
        guard let value = stored.value else { return nil }
        return Etcd.KeyValue(key: key, createRevision: stored.createRevision, modRevision: revision, version: stored.version,
                             value: value, lease: stored.lease)
    }
}

/// One version of a key as stored: a put's state, or a tombstone (the key deleted).
struct StoredVersion: Equatable {
    var createRevision: Int64
    var version: Int64
    var lease: Int64
    /// nil for a tombstone.
    var value: [UInt8]?

    /// The compact record: the tag, then for a put its create revision, version and lease as
    /// varints and the value; a tombstone is its tag alone. Most of a new key's 33 bytes of
    /// fixed-width revisions were zeros: a snapshot of 200,000 keys of 100 bytes was half
    /// again the size of the pre-MVCC store's.
    static let putTag: UInt8 = 0x11
    static let tombstoneTag: UInt8 = 0x12
    /// The fixed-width record of builds before the compact one, still read:
    /// tag, create revision, version, lease (big-endian u64 each), value.
    static let legacyPutTag: UInt8 = 0x01
    static let legacyTombstoneTag: UInt8 = 0x02

    static let tombstone = StoredVersion(createRevision: 0, version: 0, lease: 0, value: nil)

    var encoded: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 + (value?.count ?? 0))
        encode(into: &bytes, revision: nil)
        return bytes
    }

    /// Appends the compact record; with `revision`, as a current slot's value (the revision
    /// right after the tag).
    func encode(into bytes: inout [UInt8], revision: Int64?) {
        bytes.append(value == nil ? Self.tombstoneTag : Self.putTag)
        if let revision { MVCCKeys.appendVarint(&bytes, UInt64(bitPattern: revision)) }
        guard let value else { return }
        MVCCKeys.appendVarint(&bytes, UInt64(bitPattern: createRevision))
        MVCCKeys.appendVarint(&bytes, UInt64(bitPattern: version))
        MVCCKeys.appendVarint(&bytes, UInt64(bitPattern: lease))
        bytes.append(contentsOf: value)
    }

    /// The fixed-width record of earlier builds (what the hashes hash).
    var legacyEncoded: [UInt8] {
        var bytes: [UInt8] = [value == nil ? Self.legacyTombstoneTag : Self.legacyPutTag]
        bytes.reserveCapacity(25 + (value?.count ?? 0))
        MVCCKeys.appendBigEndian(&bytes, UInt64(bitPattern: createRevision))
        MVCCKeys.appendBigEndian(&bytes, UInt64(bitPattern: version))
        MVCCKeys.appendBigEndian(&bytes, UInt64(bitPattern: lease))
        if let value { bytes.append(contentsOf: value) }
        return bytes
    }

    init(createRevision: Int64, version: Int64, lease: Int64, value: [UInt8]?) {
        self.createRevision = createRevision
        self.version = version
        self.lease = lease
        self.value = value
    }

    /// An older version's record, compact or fixed-width.
    init?(decoding bytes: UnsafeRawBufferPointer) {
        guard let (stored, _) = Self.decode(bytes, withRevision: false) else { return nil }
        self = stored
    }

    /// A record, compact or fixed-width; `withRevision`: a compact one carries the revision
    /// after its tag (a current slot's value).
    static func decode(_ bytes: UnsafeRawBufferPointer, withRevision: Bool) -> (StoredVersion, Int64?)? {
        guard let tag = bytes.first else { return nil }
        switch tag {
        case legacyPutTag, legacyTombstoneTag:
            guard !withRevision, bytes.count >= 25 else { return nil }
            let stored = StoredVersion(
                createRevision: Int64(bitPattern: MVCCKeys.readBigEndian(bytes, at: 1)),
                version: Int64(bitPattern: MVCCKeys.readBigEndian(bytes, at: 9)),
                lease: Int64(bitPattern: MVCCKeys.readBigEndian(bytes, at: 17)),
                value: tag == legacyPutTag ? [UInt8](bytes[25...]) : nil)
            return (stored, nil)
        case putTag, tombstoneTag:
            var offset = 1
            var revision: Int64?
            if withRevision {
                guard let read = MVCCKeys.readVarint(bytes, at: &offset) else { return nil }
                revision = Int64(bitPattern: read)
            }
            guard tag == putTag else { return offset == bytes.count ? (.tombstone, revision) : nil }
            guard let create = MVCCKeys.readVarint(bytes, at: &offset), let version = MVCCKeys.readVarint(bytes, at: &offset),
                let lease = MVCCKeys.readVarint(bytes, at: &offset)
            else { return nil }
            let stored = StoredVersion(
                createRevision: Int64(bitPattern: create), version: Int64(bitPattern: version), lease: Int64(bitPattern: lease),
                value: [UInt8](bytes[offset...]))
            return (stored, revision)
        default:
            return nil
        }
    }
}

/// The history of one apply, in one value: each write's revision and key, in order. A write's
/// `sub` (its place among the writes of its revision, etcd's) is its place among the record's
/// writes of the same revision — an apply never splits a revision. (`encode` has the bytes.)
enum HistoryRecord {
    struct Write: Equatable {
        var revision: Int64
        var sub: Int64
        var key: [UInt8]
    }

    /// The compact form's first byte. A record of the fixed-width form (builds before it:
    /// repeated revision as big-endian u64, key length as big-endian u32, key) starts with its
    /// first revision's top byte, 0x00; both are read.
    static let compactFormat: UInt8 = 0x01

    /// The compact form: its format byte, then for each write the distance of its revision
    /// from the previous write's (the first's from 0) and its key's length as varints, and
    /// the key. Twelve fixed bytes a write were most of the record for short keys.
    static func encode(_ writes: [(revision: Int64, key: [UInt8])]) -> [UInt8] {
        var bytes: [UInt8] = [compactFormat]
        bytes.reserveCapacity(writes.reduce(1) { $0 + 4 + $1.key.count })
        var previous: Int64 = 0
        for write in writes {
            MVCCKeys.appendVarint(&bytes, UInt64(bitPattern: write.revision &- previous))
            MVCCKeys.appendVarint(&bytes, UInt64(write.key.count))
            bytes.append(contentsOf: write.key)
            previous = write.revision
        }
        return bytes
    }

    /// The fixed-width form of builds before the compact one (tests write it, as those builds did).
    static func legacyEncode(_ writes: [(revision: Int64, key: [UInt8])]) -> [UInt8] {
        var bytes: [UInt8] = []
        for write in writes {
            MVCCKeys.appendBigEndian(&bytes, UInt64(write.revision))
            let length = UInt32(write.key.count)
            for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: length >> UInt32(shift))) }
            bytes.append(contentsOf: write.key)
        }
        return bytes
    }

    /// The record's writes, of either form; nil unless it decodes whole, with revisions in order.
    static func decode(_ bytes: UnsafeRawBufferPointer) -> [Write]? {
        var writes: [Write] = []
        func add(_ revision: Int64, _ key: [UInt8]) -> Bool {
            let sub: Int64
            if let last = writes.last, last.revision == revision {
                sub = last.sub + 1
            } else {
                guard writes.last.map({ $0.revision < revision }) ?? true else { return false }
                sub = 0
            }
            writes.append(Write(revision: revision, sub: sub, key: key))
            return true
        }
        if bytes.first == compactFormat {
            var offset = 1
            var revision: Int64 = 0
            while offset < bytes.count {
                guard let distance = MVCCKeys.readVarint(bytes, at: &offset), let length = MVCCKeys.readVarint(bytes, at: &offset),
                    length <= UInt64(bytes.count - offset)
                else { return nil }
                revision &+= Int64(bitPattern: distance)
                guard add(revision, [UInt8](bytes[offset..<offset + Int(length)])) else { return nil }
                offset += Int(length)
            }
            return writes.isEmpty ? nil : writes
        }
        var offset = 0
        while offset < bytes.count {
            guard bytes.count - offset >= 12 else { return nil }
            let revision = Int64(bitPattern: MVCCKeys.readBigEndian(bytes, at: offset))
            let length = (offset + 8..<offset + 12).reduce(0) { $0 << 8 | Int(bytes[$1]) }
            offset += 12
            guard bytes.count - offset >= length else { return nil }
            guard add(revision, [UInt8](bytes[offset..<offset + length])) else { return nil }
            offset += length
        }
        return writes.isEmpty ? nil : writes
    }
}
