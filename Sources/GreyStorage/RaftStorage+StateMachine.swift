import GreyRaft

/// The state column family as the state machine sees it: cursors to read, and batches it
/// writes together with the applied index.
extension RaftStorage {
    public static let stateFamily = "state"

    /// A batch over the state family that reads back its own writes.
    public func stateBatch() -> StateBatch {
        StateBatch(for: database)
    }

    /// The values under `keys` in the state family as it is now, in order, in one batched
    /// lookup (`RocksDB.values`): a state batch's reads of its commands' keys, done ahead.
    public func stateValues(_ keys: [[UInt8]]) throws(StorageError) -> [[UInt8]?] {
        try database.values(Self.stateFamily, keys)
    }

    /// Writes a state batch with the applied index it brings the state machine to, in one
    /// atomic write. Not synced: the log is durable, and entries applied but lost in a crash
    /// are applied again from it.
    public func writeState(_ batch: StateBatch, appliedIndex: LogIndex) throws(StorageError) {
        batch.seal()
        batch.writes.put(Self.stateFamily, Self.appliedKey, Self.encodeUInt64(appliedIndex.rawValue))
        try database.write(batch.writes, sync: false)
    }

    /// Writes a state batch that leaves the applied index where it is: housekeeping that
    /// changes no answer (removing what a compaction made unreachable). Not synced: a crash
    /// that loses it leaves the work to be done again.
    public func writeState(_ batch: StateBatch) throws(StorageError) {
        batch.seal()
        try database.write(batch.writes, sync: false)
    }

    /// A cursor over the state family as it is now, at the first key ≥ `start`.
    public func stateCursor(from start: [UInt8]) -> RocksDBCursor {
        database.cursor(Self.stateFamily, from: start)
    }
}

extension RaftStorage {
    /// The bytes the state machine takes: its tables on disk and its memtables (what etcd's
    /// backend size is to its space quota; the Raft log is not counted, as etcd's WAL is not).
    /// Old versions and deleted keys count until compaction and `defragment()` remove them.
    public func stateBytes() -> Int64 {
        let tables = database.property(Self.stateFamily, "rocksdb.total-sst-files-size") ?? 0
        let memory = database.property(Self.stateFamily, "rocksdb.size-all-mem-tables") ?? 0
        return Int64(tables + memory)
    }

    /// Compacts every column family fully (RocksDB rewrites its tables without what was
    /// deleted or overwritten): etcd's Defragment. Blocking, and long on a big store.
    public func defragment() {
        database.compactAll()
    }
}
