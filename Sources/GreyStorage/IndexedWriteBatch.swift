import CRocksDB

/// A batch of writes that can be read back before it is written: gets and cursors through
/// it see the database with the batch's changes on top (RocksDB's WriteBatchWithIndex).
/// `StateBatch` scans through one. Owns its `rocksdb_writebatch_wi_t`; one thread at a time.
final class IndexedWriteBatch {
    let handle: OpaquePointer
    private let database: RocksDB
    private let readOptions: OpaquePointer

    init(for database: RocksDB) {
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

    func put(_ family: String, _ key: [UInt8], _ value: [UInt8]) {
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

    func delete(_ family: String, _ key: [UInt8]) {
        key.withUnsafeBufferPointer { keyBuffer in
            keyBuffer.withMemoryRebound(to: CChar.self) {
                rocksdb_writebatch_wi_delete_cf(handle, database.family(family), $0.baseAddress, $0.count)
            }
        }
    }

    /// A cursor over `family` with this batch's changes applied. Valid until the batch next
    /// changes: make a new one after writing.
    func cursor(_ family: String, from start: [UInt8]) -> RocksDBCursor {
        let base = rocksdb_create_iterator_cf(database.database, readOptions, database.family(family))
        let merged = rocksdb_writebatch_wi_create_iterator_with_base_cf(handle, base, database.family(family))!
        return RocksDBCursor(iterator: merged, source: self, from: start)
    }

    /// Marks the current state; `rollBack()` returns to it.
    func setSavePoint() {
        rocksdb_writebatch_wi_set_save_point(handle)
    }

    /// Undoes every change since the last save point (and forgets the save point).
    func rollBack() throws(StorageError) {
        var error: UnsafeMutablePointer<CChar>? = nil
        rocksdb_writebatch_wi_rollback_to_save_point(handle, &error)
        try RocksDB.check(error, "roll back to save point")
    }
}
