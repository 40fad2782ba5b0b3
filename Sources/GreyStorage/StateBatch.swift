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
/// One thread at a time.
public final class StateBatch {
    /// Everything written, in order: what `RaftStorage.writeState` writes. Writes added to it
    /// directly are written with the others, atomically, but never read back by the batch —
    /// for what nothing in an apply reads (the history of revisions).
    public let writes: WriteBatch
    private let database: RocksDB
    private static let family = RaftStorage.stateFamily

    /// The newest value the batch gives each key it wrote; nil for a key it deleted.
    private var written: [[UInt8]: [UInt8]?] = [:]
    /// The index scans go through, once one has needed it.
    private var index: IndexedWriteBatch?

    /// What the save point restores: the map's entries as they were before each change since
    /// (`.none` where the key was not in the map), undone in reverse order.
    private var undo: [(key: [UInt8], previous: [UInt8]??)] = []
    private var hasSavePoint = false
    /// Whether the index was built after the save point (it then has no save point of its
    /// own, and a roll-back drops it: the next scan builds it again from the map).
    private var indexBuiltSinceSavePoint = false

    init(for database: RocksDB) {
        self.database = database
        writes = WriteBatch(for: database)
    }

    public func put(_ key: [UInt8], _ value: [UInt8]) {
        writes.put(Self.family, key, value)
        remember(key, value)
        index?.put(Self.family, key, value)
    }

    public func delete(_ key: [UInt8]) {
        writes.delete(Self.family, key)
        remember(key, nil)
        index?.delete(Self.family, key)
    }

    private func remember(_ key: [UInt8], _ value: [UInt8]?) {
        let previous = written.updateValue(value, forKey: key)
        if hasSavePoint { undo.append((key, previous)) }
    }

    /// The value under `key` with this batch's changes applied, or nil.
    public func get(_ key: [UInt8]) throws(StorageError) -> [UInt8]? {
        if let mine = written[key] { return mine }
        return try database.get(Self.family, key)
    }

    /// The value under `key` with this batch's changes applied, where `stored` is what the
    /// database held under it when the batch began (read ahead, with other keys: `RaftStorage.stateValues`).
    public func get(_ key: [UInt8], stored: [UInt8]?) -> [UInt8]? {
        if let mine = written[key] { return mine }
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
                if let value { built.put(Self.family, key, value) } else { built.delete(Self.family, key) }
            }
            index = built
            indexBuiltSinceSavePoint = hasSavePoint
        }
        return index!.cursor(Self.family, from: start)
    }

    /// Marks the current state; `rollBack()` returns to it. Replaces the save point before.
    public func setSavePoint() throws(StorageError) {
        if hasSavePoint { try writes.popSavePoint() }
        writes.setSavePoint()
        index?.setSavePoint()
        undo.removeAll(keepingCapacity: true)
        hasSavePoint = true
        indexBuiltSinceSavePoint = false
    }

    /// Undoes every change since the save point, and forgets the save point.
    public func rollBack() throws(StorageError) {
        precondition(hasSavePoint, "rollBack without a save point")
        try writes.rollBack()
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
}
