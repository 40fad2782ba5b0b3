import CRocksDB

/// A batch of writes that can be read back before it is written: gets and cursors through
/// it see the database with the batch's changes on top (RocksDB's WriteBatchWithIndex). The
/// state machine applies many commands in one atomic write, and each must see the ones before
/// it. Save points undo a command that fails halfway (a Txn refused after some of its writes).
/// Owns its `rocksdb_writebatch_wi_t`; one thread at a time.
public final class IndexedWriteBatch {
    let handle: OpaquePointer
    private let database: RocksDB
    private let readOptions: OpaquePointer

    public init(for database: RocksDB) {
        // overwrite_keys: a key written twice is one entry, which cursors over the batch need.
        handle = rocksdb_writebatch_wi_create(0, 1)
        self.database = database
        readOptions = rocksdb_readoptions_create()
        rocksdb_readoptions_set_verify_checksums(readOptions, 1)
    }

    deinit {
        rocksdb_readoptions_destroy(readOptions)
        rocksdb_writebatch_wi_destroy(handle)
    }

    public func put(_ family: String, _ key: [UInt8], _ value: [UInt8]) {
        key.withUnsafeBufferPointer { keyBuffer in
            value.withUnsafeBufferPointer { valueBuffer in
                keyBuffer.withMemoryRebound(to: CChar.self) { k in
                    valueBuffer.withMemoryRebound(to: CChar.self) { v in
                        rocksdb_writebatch_wi_put_cf(handle, database.family(family), k.baseAddress, k.count, v.baseAddress, v.count)
                    }
                }
            }
        }
    }

    public func delete(_ family: String, _ key: [UInt8]) {
        key.withUnsafeBufferPointer { keyBuffer in
            keyBuffer.withMemoryRebound(to: CChar.self) {
                rocksdb_writebatch_wi_delete_cf(handle, database.family(family), $0.baseAddress, $0.count)
            }
        }
    }

    /// The value under `key` with this batch's changes applied, or nil.
    public func get(_ family: String, _ key: [UInt8]) throws(StorageError) -> [UInt8]? {
        RocksDB.quietPerfCounters()
        var error: UnsafeMutablePointer<CChar>? = nil
        var length = 0
        let value = key.withUnsafeBufferPointer { keyBuffer in
            keyBuffer.withMemoryRebound(to: CChar.self) {
                rocksdb_writebatch_wi_get_from_batch_and_db_cf(
                    handle, database.database, readOptions, database.family(family), $0.baseAddress, $0.count, &length, &error)
            }
        }
        try RocksDB.check(error, "get from batch")
        guard let value else { return nil }
        defer { rocksdb_free(value) }
        return [UInt8](UnsafeRawBufferPointer(start: value, count: length))
    }

    /// A cursor over `family` with this batch's changes applied. Valid until the batch next
    /// changes: make a new one after writing.
    public func cursor(_ family: String, from start: [UInt8]) -> RocksDBCursor {
        let base = rocksdb_create_iterator_cf(database.database, readOptions, database.family(family))
        let merged = rocksdb_writebatch_wi_create_iterator_with_base_cf(handle, base, database.family(family))!
        return RocksDBCursor(iterator: merged, source: self, from: start)
    }

    /// The batch's writes as a plain batch (a copy, one memcpy): writes added to it are written
    /// with the others, atomically, but never indexed. For writes nothing in the batch reads
    /// back — indexing each one costs a search of the batch's skip list.
    public func plainCopy() -> WriteBatch {
        var size = 0
        let data = rocksdb_writebatch_wi_data(handle, &size)
        return WriteBatch(handle: rocksdb_writebatch_create_from(data, size), database: database)
    }

    /// Marks the current state; `rollBack()` returns to it.
    public func setSavePoint() {
        rocksdb_writebatch_wi_set_save_point(handle)
    }

    /// Undoes every change since the last save point (and forgets the save point).
    public func rollBack() throws(StorageError) {
        var error: UnsafeMutablePointer<CChar>? = nil
        rocksdb_writebatch_wi_rollback_to_save_point(handle, &error)
        try RocksDB.check(error, "roll back to save point")
    }
}

extension RocksDB {
    /// Applies an indexed batch atomically; with `sync`, returns only once it is on disk.
    public func write(_ batch: IndexedWriteBatch, sync: Bool) throws(StorageError) {
        Self.quietPerfCounters()
        var error: UnsafeMutablePointer<CChar>? = nil
        rocksdb_write_writebatch_wi(database, sync ? syncWrite : bufferedWrite, batch.handle, &error)
        try Self.check(error, "write")
    }
}
