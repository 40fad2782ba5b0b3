import GreyStorage
import GreyWire

/// Reads the MVCC store as of one moment: the live database, a frozen view, or a batch being
/// applied (where a command sees the writes of the commands before it). One reader makes one
/// RocksDB iterator, on first use, and moves it for every read after: making an iterator
/// costs more than a seek, and the reads of one reader see one point in time. (A reader over
/// a batch is good until the batch changes; the applier makes one per read.)
struct MVCCReader {
    private let makeCursor: ([UInt8]) -> RocksDBCursor
    private let made = MadeCursor()

    private final class MadeCursor {
        var cursor: RocksDBCursor?
    }

    /// `makeCursor`: a cursor over the state column family at the first key ≥ the one given.
    init(_ makeCursor: @escaping ([UInt8]) -> RocksDBCursor) {
        self.makeCursor = makeCursor
    }

    /// The reader's cursor, at the first key ≥ `key`.
    private func cursor(_ key: [UInt8]) -> RocksDBCursor {
        if let cursor = made.cursor {
            cursor.seek(key)
            return cursor
        }
        let cursor = makeCursor(key)
        made.cursor = cursor
        return cursor
    }

    /// The store's revision (1 before the first write, as etcd's).
    func revision() throws(MVCCError) -> Int64 {
        try meta(MVCCKeys.revisionKey) ?? 1
    }

    /// The revision compacted through (0 before the first compaction).
    func compacted() throws(MVCCError) -> Int64 {
        try meta(MVCCKeys.compactedKey) ?? 0
    }

    /// The revision of a compaction whose unreachable versions are still being removed; nil
    /// when none is (`MVCCStore.compactStep`).
    func compactionDue() throws(MVCCError) -> Int64? {
        try meta(MVCCKeys.compactionDueKey)
    }

    /// The alarms raised (none before the first).
    func alarms() throws(MVCCError) -> AlarmSet {
        let cursor = cursor(MVCCKeys.alarmsKey)
        guard let pair = try current(cursor), pair.key.elementsEqual(MVCCKeys.alarmsKey) else { return AlarmSet() }
        guard let alarms = AlarmSet(decoding: [UInt8](pair.value)) else { throw .corrupted("the alarms key holds \(pair.value.count) bytes that do not decode") }
        return alarms
    }

    private func meta(_ key: [UInt8]) throws(MVCCError) -> Int64? {
        let cursor = cursor(key)
        guard let pair = try current(cursor), pair.key.elementsEqual(key) else { return nil }
        guard let revision = MVCCKeys.decodeRevision([UInt8](pair.value)) else { throw .corrupted("meta key \(key) holds \(pair.value.count) bytes") }
        return revision
    }

    /// `key` as of `revision`; nil if it did not exist then.
    func get(_ key: [UInt8], at revision: Int64) throws(MVCCError) -> Etcd.KeyValue? {
        try entry(key, at: revision)?.keyValue
    }

    /// The version of `key` in force at `revision` (a tombstone included); nil if none is.
    func entry(_ key: [UInt8], at revision: Int64) throws(MVCCError) -> IndexEntry? {
        let cursor = cursor(MVCCKeys.current(key))
        guard let newest = try entryUnder(cursor), newest.key == key else { return nil }
        return try newest.revision <= revision ? newest : older(than: newest, at: revision, cursor)
    }

    /// The version of `newest.key` in force at `revision`, below its newest one.
    private func older(than newest: IndexEntry, at revision: Int64, _ cursor: RocksDBCursor) throws(MVCCError) -> IndexEntry? {
        cursor.seek(MVCCKeys.version(newest.key, revision))
        guard let found = try entryUnder(cursor), found.key == newest.key, found.revision <= revision else { return nil }
        return found
    }

    /// Every key of `range` that existed at `revision`, in key order, until `body` returns false.
    func forEach(in range: KeyRange, at revision: Int64, _ body: (Etcd.KeyValue) throws(MVCCError) -> Bool) throws(MVCCError) {
        if case .single(let key) = range {
            if let found = try get(key, at: revision) { _ = try body(found) }
            return
        }
        let cursor = cursor(MVCCKeys.start(of: range.start))
        while let pair = try current(cursor), MVCCKeys.isVersion(pair.key) {
            guard let newest = MVCCKeys.decodeEntry(key: pair.key, value: pair.value) else { throw .corrupted("an index entry that does not decode") }
            guard range.contains(newest.key) else { return }
            let found = try newest.revision <= revision ? newest : older(than: newest, at: revision, cursor)
            if let kv = found?.keyValue {
                guard try body(kv) else { return }
            }
            cursor.seek(MVCCKeys.pastVersions(of: newest.key))
        }
    }

    /// The index entry under the cursor, if it is one.
    private func entryUnder(_ cursor: RocksDBCursor) throws(MVCCError) -> IndexEntry? {
        guard let pair = try current(cursor), MVCCKeys.isVersion(pair.key) else { return nil }
        guard let entry = MVCCKeys.decodeEntry(key: pair.key, value: pair.value) else { throw .corrupted("an index entry that does not decode") }
        return entry
    }

    private func current(_ cursor: RocksDBCursor) throws(MVCCError) -> (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)? {
        do {
            return try cursor.current()
        } catch {
            throw .corrupted("\(error)")
        }
    }

    /// Answers a Range as etcd does: the revision must be neither compacted nor in the future;
    /// `count` is every key in the range, before the revision filters; sorting (and the
    /// filters) happen before the limit, which sets `more`.
    /// `currentRevision` stands in for the store's inside a Txn that has written.
    func range(_ request: Etcd.RangeRequest, currentRevision: Int64? = nil) throws(MVCCError) -> Etcd.RangeResponse {
        guard !request.key.isEmpty else { throw .emptyKey }
        let current: Int64
        if let currentRevision { current = currentRevision } else { current = try revision() }
        let at = request.revision > 0 ? request.revision : current
        guard at <= current else { throw .futureRevision }
        let compactedThrough = try compacted()
        guard at >= compactedThrough else { throw .compacted }
        var kvs: [Etcd.KeyValue] = []
        var count: Int64 = 0
        let filtered = request.minModRevision != 0 || request.maxModRevision != 0 || request.minCreateRevision != 0
            || request.maxCreateRevision != 0
        // Without sorting or filters, keys past limit+1 are only counted, not kept.
        let keep = request.sortOrder == .none && !filtered && request.limit > 0 ? Int(request.limit) + 1 : Int.max
        try forEach(in: KeyRange(key: request.key, rangeEnd: request.rangeEnd), at: at) { kv throws(MVCCError) in
            count += 1
            if !request.countOnly && kvs.count < keep { kvs.append(kv) }
            return true
        }
        if request.maxModRevision != 0 { kvs.removeAll { $0.modRevision > request.maxModRevision } }
        if request.minModRevision != 0 { kvs.removeAll { $0.modRevision < request.minModRevision } }
        if request.maxCreateRevision != 0 { kvs.removeAll { $0.createRevision > request.maxCreateRevision } }
        if request.minCreateRevision != 0 { kvs.removeAll { $0.createRevision < request.minCreateRevision } }
        var order = request.sortOrder
        if request.sortTarget != .key && order == .none { order = .ascend }  // etcd sorts by a non-key target ascending
        if order != .none {
            let ascending: (Etcd.KeyValue, Etcd.KeyValue) -> Bool = switch request.sortTarget {
            case .key: { $0.key.lexicographicallyPrecedes($1.key) }
            case .version: { $0.version < $1.version }
            case .create: { $0.createRevision < $1.createRevision }
            case .mod: { $0.modRevision < $1.modRevision }
            case .value: { $0.value.lexicographicallyPrecedes($1.value) }
            }
            // Stable, as Go's sort is not but ties keep key order here, which is at least predictable.
            let indexed = kvs.enumerated().map { ($0.offset, $0.element) }
            kvs = indexed.sorted { lhs, rhs in
                if ascending(lhs.1, rhs.1) { return order == .ascend }
                if ascending(rhs.1, lhs.1) { return order == .descend }
                return lhs.0 < rhs.0
            }.map(\.1)
        }
        var more = false
        if request.limit > 0 && kvs.count > Int(request.limit) {
            kvs.removeLast(kvs.count - Int(request.limit))
            more = true
        }
        if request.keysOnly { for index in kvs.indices { kvs[index].value = [] } }
        return Etcd.RangeResponse(header: Etcd.ResponseHeader(revision: current), kvs: kvs, more: more, count: count)
    }
}
