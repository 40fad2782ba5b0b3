import CRocksDB

/// A frozen, consistent view of the whole database at one moment (a RocksDB snapshot):
/// reads through it see nothing written after it was taken, in any column family. Sending
/// a snapshot to a follower or a backup reads a gigabyte through one of these while writes
/// go on. Owns the `rocksdb_snapshot_t` and its read options; releases them in `deinit`.
public final class RocksDBView: @unchecked Sendable {
    // @unchecked Sendable: RocksDB snapshots are immutable and safe to read from any thread;
    // the class holds no mutable Swift state.
    let database: RocksDB
    private let snapshot: OpaquePointer
    let readOptions: OpaquePointer

    public init(of database: RocksDB) {
        self.database = database
        snapshot = rocksdb_create_snapshot(database.database)
        readOptions = rocksdb_readoptions_create()
        rocksdb_readoptions_set_verify_checksums(readOptions, 1)
        // A one-pass scan of everything: do not push the live working set out of the cache.
        rocksdb_readoptions_set_fill_cache(readOptions, 0)
        rocksdb_readoptions_set_snapshot(readOptions, snapshot)
    }

    deinit {
        rocksdb_readoptions_destroy(readOptions)
        rocksdb_release_snapshot(database.database, snapshot)
    }

    public func get(_ family: String, _ key: [UInt8]) throws(StorageError) -> [UInt8]? {
        try database.get(family, key, readOptions: readOptions)
    }

    /// A cursor over `family` in this view, positioned at the first key ≥ `start`.
    public func cursor(_ family: String, from start: [UInt8]) -> RocksDBCursor {
        RocksDBCursor(view: self, family: family, from: start)
    }
}

/// A forward iterator over one column family: of a `RocksDBView`, of the live database (a
/// point-in-time view as of its creation), or of a batch being built over the database. Not
/// thread-safe: one thread at a time. Owns its `rocksdb_iterator_t` and keeps what it reads
/// (the view, the database, the batch) alive.
public final class RocksDBCursor: @unchecked Sendable {
    // @unchecked Sendable: handed between storage threads, used by one at a time.
    private let source: AnyObject
    private let iterator: OpaquePointer

    init(view: RocksDBView, family: String, from start: [UInt8]) {
        source = view
        iterator = rocksdb_create_iterator_cf(view.database.database, view.readOptions, view.database.family(family))
        seek(start)
    }

    /// Takes ownership of `iterator`; `source` is kept alive as long as the cursor.
    init(iterator: OpaquePointer, source: AnyObject, from start: [UInt8]) {
        self.source = source
        self.iterator = iterator
        seek(start)
    }

    deinit {
        rocksdb_iter_destroy(iterator)
    }

    public func seek(_ key: [UInt8]) {
        key.withUnsafeBufferPointer { keyBuffer in
            keyBuffer.withMemoryRebound(to: CChar.self) { rocksdb_iter_seek(iterator, $0.baseAddress, $0.count) }
        }
    }

    /// The pair under the cursor, or nil past the end. The buffers are RocksDB's and stay
    /// valid only until `advance()`.
    public func current() throws(StorageError) -> (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)? {
        guard rocksdb_iter_valid(iterator) != 0 else {
            var error: UnsafeMutablePointer<CChar>? = nil
            rocksdb_iter_get_error(iterator, &error)
            try RocksDB.check(error, "scan")
            return nil
        }
        var keyLength = 0
        var valueLength = 0
        let key = rocksdb_iter_key(iterator, &keyLength)
        let value = rocksdb_iter_value(iterator, &valueLength)
        return (UnsafeRawBufferPointer(start: key, count: keyLength), UnsafeRawBufferPointer(start: value, count: valueLength))
    }

    /// Steps to the next pair.
    public func advance() {
        rocksdb_iter_next(iterator)
    }
}
