import Foundation

/// A batch of writes to the state family that reads back its own writes before it is
/// written: the state machine applies many commands in one atomic write, and each must see
/// the ones before it. Save points undo a command that fails halfway (a Txn refused after
/// some of its writes).
///
/// Point reads — nearly all of an apply's reads: a Put looks up its key's newest version —
/// come from a map of what the batch wrote, then from the database. A scan (a range delete,
/// a Txn's range or compare over a range) goes through RocksDB's indexed batch
/// (`IndexedWriteBatch`), built from the map the first time a scan needs it and kept up to
/// date from then on. Indexing every write from the start cost a skip-list search per write
/// and per read: 15% of a follower's CPU while it replayed a log of Puts (perf).
///
/// A key written more than once in the batch reaches RocksDB once, with its last value, and
/// the keys reach it in order (`seal()`, which `RaftStorage.writeState` calls): a batch of
/// Puts to one key rewrote its current slot for every Put, each rewrite a memtable insert,
/// and each older version it moved sorts before the one moved just before it (newest
/// first), so every insert searched the skip list from the top — on a follower under 1024
/// streams of Puts, the state write's memtable inserts were a fifth of its CPU (perf).
/// One thread at a time.
public final class StateBatch {
    /// What `RaftStorage.writeState` writes, once sealed: every key's last value, then the
    /// unread writes.
    let writes: WriteBatch
    /// Writes never read back by the batch, for what nothing in an apply reads (the history of
    /// revisions): written after the others, atomically with them (`putUnread`).
    private var unread: [(key: [UInt8], value: [UInt8])] = []
    private let database: RocksDB
    private static let family = RaftStorage.stateFamily

    /// The newest value the batch gives each key it wrote; nil for a key it deleted.
    private var written: [ByteKey: [UInt8]?] = [:]
    /// Sealed: written to `writes` for good.
    private var isSealed = false
    /// The index scans go through, once one has needed it.
    private var index: IndexedWriteBatch?

    /// What the save point restores: the map's entries as they were before each change since
    /// (`.none` where the key was not in the map), undone in reverse order.
    private var undo: [(key: ByteKey, previous: [UInt8]??)] = []
    private var hasSavePoint = false
    /// Whether the index was built after the save point (it then has no save point of its
    /// own, and a roll-back drops it: the next scan builds it again from the map).
    private var indexBuiltSinceSavePoint = false

    init(for database: RocksDB) {
        self.database = database
        writes = WriteBatch(for: database)
    }

    public func put(_ key: [UInt8], _ value: [UInt8]) {
        remember(key, value)
        index?.put(Self.family, key, value)
    }

    public func delete(_ key: [UInt8]) {
        remember(key, nil)
        index?.delete(Self.family, key)
    }

    private func remember(_ key: [UInt8], _ value: [UInt8]?) {
        precondition(!isSealed, "a StateBatch written to after it was sealed")
        let key = ByteKey(key)
        let previous = written.updateValue(value, forKey: key)
        if hasSavePoint { undo.append((key, previous)) }
    }

    /// Adds a write that the batch never reads back; it lands after the others, atomically.
    /// Not undone by `rollBack()`: for what is added once every command is applied.
    public func putUnread(_ key: [UInt8], _ value: [UInt8]) {
        precondition(!isSealed, "a StateBatch written to after it was sealed")
        unread.append((key, value))
    }

    /// Adds the last value of every key written through `put` and `delete` (and not rolled
    /// back) to `writes`, once each and in key order, so the memtable inserts them one after
    /// another; then the unread writes. What `RaftStorage.writeState` does before it writes the
    /// batch; nothing may be written to the batch after it.
    func seal() {
        guard !isSealed else { return }
        var pairs = Array(written)
        pairs.sort { Self.precedes($0.key.bytes, $1.key.bytes) }
        for (key, value) in pairs {
            if let value { writes.put(Self.family, key.bytes, value) } else { writes.delete(Self.family, key.bytes) }
        }
        for (key, value) in unread { writes.put(Self.family, key, value) }
        unread.removeAll()
        isSealed = true
    }

    /// The value under `key` with this batch's changes applied, or nil.
    public func get(_ key: [UInt8]) throws(StorageError) -> [UInt8]? {
        if let mine = written[ByteKey(key)] { return mine }
        return try database.get(Self.family, key)
    }

    /// The value under `key` with this batch's changes applied, where `stored` is what the
    /// database held under it when the batch began (read ahead, with other keys: `RaftStorage.stateValues`).
    public func get(_ key: [UInt8], stored: [UInt8]?) -> [UInt8]? {
        if let mine = written[ByteKey(key)] { return mine }
        return stored
    }

    /// Makes room in the map for about `count` keys, so it does not grow step by step.
    public func reserveCapacity(_ count: Int) {
        written.reserveCapacity(count)
    }

    /// A cursor over the state family with this batch's changes applied, at the first key ≥
    /// `start`. Valid until the batch next changes: make a new one after writing.
    public func cursor(from start: [UInt8]) -> RocksDBCursor {
        if written.isEmpty { return database.cursor(Self.family, from: start) }
        if index == nil {
            let built = IndexedWriteBatch(for: database)
            for (key, value) in written {
                if let value { built.put(Self.family, key.bytes, value) } else { built.delete(Self.family, key.bytes) }
            }
            index = built
            indexBuiltSinceSavePoint = hasSavePoint
        }
        return index!.cursor(Self.family, from: start)
    }

    /// Marks the current state; `rollBack()` returns to it. Replaces the save point before.
    /// (`writes` needs none: nothing reaches it before `seal()`.)
    public func setSavePoint() throws(StorageError) {
        index?.setSavePoint()
        undo.removeAll(keepingCapacity: true)
        hasSavePoint = true
        indexBuiltSinceSavePoint = false
    }

    /// Undoes every change since the save point, and forgets the save point.
    public func rollBack() throws(StorageError) {
        precondition(hasSavePoint, "rollBack without a save point")
        for change in undo.reversed() {
            if let previous = change.previous {
                written.updateValue(previous, forKey: change.key)
            } else {
                written.removeValue(forKey: change.key)
            }
        }
        undo.removeAll(keepingCapacity: true)
        if indexBuiltSinceSavePoint {
            index = nil
        } else {
            try index?.rollBack()
        }
        hasSavePoint = false
        indexBuiltSinceSavePoint = false
    }

    /// RocksDB's order of keys (bytewise): memcmp, not the generic `lexicographicallyPrecedes`.
    static func precedes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        let common = min(a.count, b.count)
        let order = common == 0 ? 0 : a.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { y in memcmp(x.baseAddress!, y.baseAddress!, common) }
        }
        return order != 0 ? order < 0 : a.count < b.count
    }
}
