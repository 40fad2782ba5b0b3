import CRocksDB

#if canImport(Glibc)
import Glibc
#endif

/// An open RocksDB database with named column families.
///
/// Owns the `rocksdb_t`, its options and column-family handles, and frees them in `deinit`.
/// `@unchecked Sendable` is safe: RocksDB's database object is documented thread-safe for
/// concurrent reads and writes, and this wrapper holds no mutable Swift state after `init`.
/// Calls block on disk: callers keep them off NIO event loops.
public final class RocksDB: @unchecked Sendable {
    let database: OpaquePointer
    private let options: OpaquePointer
    let syncWrite: OpaquePointer
    let bufferedWrite: OpaquePointer
    private let readOptions: OpaquePointer
    private var families: [String: OpaquePointer] = [:]
    private var familyOptions: [OpaquePointer] = []

    /// Opens (creating if asked) the database at `path` with the given column families. With
    /// `statistics`, RocksDB counts its work (`walSyncs`), at some cost per write.
    public init(path: String, columnFamilies: [String], createIfMissing: Bool, statistics: Bool = false) throws(StorageError) {
        let options = rocksdb_options_create()!
        if statistics { rocksdb_options_enable_statistics(options) }
        rocksdb_options_set_create_if_missing(options, createIfMissing ? 1 : 0)
        rocksdb_options_set_create_missing_column_families(options, createIfMissing ? 1 : 0)
        // Refuse to open on any detected inconsistency rather than serve wrong data.
        rocksdb_options_set_paranoid_checks(options, 1)
        // WAL recovery: point in time. Only unsynced writes (commit-only hard states, applies)
        // can be torn by a crash, and they are always the WAL's last records: a synced write
        // makes everything before it durable. A torn tail can look like a short record, zeros
        // or a whole record with a bad checksum; point in time replays up to the first bad
        // record and drops the rest, which covers all three (tolerate-tail refuses the last,
        // absolute consistency all of them — a node that will not start after a power cut).
        // Damage in the middle of the WAL would also end the replay there: that is media
        // corruption, not a crash, and is what `greyctl fsck` and the block checksums are for.
        rocksdb_options_set_wal_recovery_mode(options, Int32(rocksdb_point_in_time_recovery))
        // RocksDB's own info log (the LOG file) gets its header and nothing more. Debian's
        // librocksdb is built with assertions on, and a file writer that failed once aborts the
        // process on its next write: on a full disk, the LOG's first failed line was followed
        // by the next one (RocksDB's no-space recovery thread logs as it starts) and a SIGABRT,
        // where greyd means to stop with one clear line. What an operator needs is in greyd's
        // own log; `greyctl fsck` checks the data.
        rocksdb_options_set_info_log_level(options, 5)  // HEADER_LEVEL
        let names = ["default"] + columnFamilies
        let perFamily = names.map { _ in rocksdb_options_create()! }
        // Bloom filters, in the memtables and in each table file: applying a write looks up the
        // key's current version first, and for a new key that lookup finds nothing — without a
        // filter it searches the memtable and every level-0 table to learn so (a fifth of a
        // follower's CPU replaying the log). Iterators and seeks do not use them.
        let tableOptions = rocksdb_block_based_options_create()!
        rocksdb_block_based_options_set_filter_policy(tableOptions, rocksdb_filterpolicy_create_bloom(10))
        for familyOptions in perFamily {
            rocksdb_options_set_block_based_table_factory(familyOptions, tableOptions)
            rocksdb_options_set_memtable_whole_key_filtering(familyOptions, 1)
            rocksdb_options_set_memtable_prefix_bloom_size_ratio(familyOptions, 0.02)
        }
        rocksdb_block_based_options_destroy(tableOptions)  // the factory keeps its own copy
        var handles = [OpaquePointer?](repeating: nil, count: names.count)
        var error: UnsafeMutablePointer<CChar>? = nil
        let cNames = names.map { strdup($0) }
        defer { cNames.forEach { free($0) } }
        var namePointers = cNames.map { UnsafePointer($0) }
        var optionPointers: [OpaquePointer?] = perFamily
        let opened = namePointers.withUnsafeMutableBufferPointer { namesBuffer in
            optionPointers.withUnsafeMutableBufferPointer { optionsBuffer in
                handles.withUnsafeMutableBufferPointer { handlesBuffer in
                    rocksdb_open_column_families(
                        options, path, Int32(names.count), namesBuffer.baseAddress, optionsBuffer.baseAddress,
                        handlesBuffer.baseAddress, &error)
                }
            }
        }
        if let error {
            let message = String(cString: error)
            rocksdb_free(error)
            rocksdb_options_destroy(options)
            perFamily.forEach { rocksdb_options_destroy($0) }
            throw StorageError.rocksDB(operation: "open \(path)", message: message)
        }
        self.options = options
        familyOptions = perFamily
        database = opened!
        for (name, handle) in zip(names, handles) { families[name] = handle! }
        syncWrite = rocksdb_writeoptions_create()
        rocksdb_writeoptions_set_sync(syncWrite, 1)
        bufferedWrite = rocksdb_writeoptions_create()
        readOptions = rocksdb_readoptions_create()
        rocksdb_readoptions_set_verify_checksums(readOptions, 1)
    }

    /// Readies the database for a process exit that will not close it: syncs the WAL (so
    /// writes made without a sync, the applies, need not be replayed from the Raft log after a
    /// restart) and stops RocksDB's background flushes and compactions, waiting for any under
    /// way. Reads and writes still work, but nothing runs in the background any more.
    public func prepareForExit() {
        var error: UnsafeMutablePointer<CChar>? = nil
        rocksdb_flush_wal(database, 1, &error)
        if let error { rocksdb_free(error) }  // leaving anyway: the synced log is the record
        rocksdb_cancel_all_background_work(database, 1)
    }

    deinit {
        for handle in families.values { rocksdb_column_family_handle_destroy(handle) }
        rocksdb_close(database)
        rocksdb_writeoptions_destroy(syncWrite)
        rocksdb_writeoptions_destroy(bufferedWrite)
        rocksdb_readoptions_destroy(readOptions)
        rocksdb_options_destroy(options)
        familyOptions.forEach { rocksdb_options_destroy($0) }
    }

    func family(_ name: String) -> OpaquePointer {
        guard let handle = families[name] else { preconditionFailure("unknown column family \(name)") }
        return handle
    }

    /// How many times RocksDB synced its write-ahead log (its own `rocksdb.wal.synced` count);
    /// nil unless opened with `statistics`.
    public func walSyncs() -> Int? {
        guard let text = rocksdb_options_statistics_get_string(options) else { return nil }
        defer { rocksdb_free(text) }
        for line in String(cString: text).split(separator: "\n") where line.hasPrefix("rocksdb.wal.synced ") {
            return line.split(separator: " ").last.flatMap { Int($0) }
        }
        return nil
    }

    /// An integer property of one column family (`rocksdb.total-sst-files-size`, ...); nil
    /// when RocksDB has no such property. Read from RocksDB's memory: no disk access.
    public func property(_ family: String, _ name: String) -> UInt64? {
        var value: UInt64 = 0
        return rocksdb_property_int_cf(database, self.family(family), name, &value) == 0 ? value : nil
    }

    /// Turns off RocksDB's per-thread perf counters on the calling thread. They are on by
    /// default (`kEnableCount`) and every key comparison in a memtable insert or a seek bumps
    /// one in thread-local storage, which from a shared library is a `__tls_get_addr` call:
    /// 9% of a follower's CPU under load (perf). Thread-local, so called on the way into each
    /// hot operation (a store of one int) rather than once per thread: the storage and apply
    /// work runs on dispatch queues, whose threads come and go.
    static func quietPerfCounters() {
        rocksdb_set_perf_level(Int32(rocksdb_disable))
    }

    /// Applies `batch` atomically; with `sync`, returns only once it is on disk (fsync).
    public func write(_ batch: WriteBatch, sync: Bool) throws(StorageError) {
        Self.quietPerfCounters()
        var error: UnsafeMutablePointer<CChar>? = nil
        rocksdb_write(database, sync ? syncWrite : bufferedWrite, batch.handle, &error)
        try Self.check(error, "write")
    }

    /// The value under `key` in `family`, or nil.
    public func get(_ family: String, _ key: [UInt8]) throws(StorageError) -> [UInt8]? {
        try get(family, key, readOptions: readOptions)
    }

    /// A read with given options (a `RocksDBView` passes its snapshot's).
    func get(_ family: String, _ key: [UInt8], readOptions: OpaquePointer) throws(StorageError) -> [UInt8]? {
        Self.quietPerfCounters()
        var error: UnsafeMutablePointer<CChar>? = nil
        var length = 0
        let value = key.withUnsafeBufferPointer { keyBuffer in
            keyBuffer.withMemoryRebound(to: CChar.self) {
                rocksdb_get_cf(database, readOptions, self.family(family), $0.baseAddress, $0.count, &length, &error)
            }
        }
        try Self.check(error, "get")
        guard let value else { return nil }
        defer { rocksdb_free(value) }
        return [UInt8](UnsafeRawBufferPointer(start: value, count: length))
    }

    /// The values under `keys` in `family`, in order (nil where there is none): one batched
    /// lookup (RocksDB's MultiGet), which shares the work of finding the memtables, tables and
    /// filters across the keys where a Get per key repeats it. Keys may repeat.
    public func values(_ family: String, _ keys: [[UInt8]]) throws(StorageError) -> [[UInt8]?] {
        guard !keys.isEmpty else { return [] }
        Self.quietPerfCounters()
        // One buffer holds every key, so each pointer handed to RocksDB stays valid for the call.
        var flat: [UInt8] = []
        flat.reserveCapacity(keys.reduce(0) { $0 + $1.count })
        var offsets: [Int] = []
        offsets.reserveCapacity(keys.count)
        for key in keys {
            offsets.append(flat.count)
            flat.append(contentsOf: key)
        }
        let sizes = keys.map(\.count)
        var slices = [OpaquePointer?](repeating: nil, count: keys.count)
        var errors = [UnsafeMutablePointer<CChar>?](repeating: nil, count: keys.count)
        flat.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { base in
                let pointers: [UnsafePointer<CChar>?] = offsets.map { offset in base.baseAddress.map { UnsafePointer($0) + offset } }
                rocksdb_batched_multi_get_cf(database, readOptions, self.family(family), keys.count, pointers, sizes, &slices, &errors, false)
            }
        }
        defer { for slice in slices where slice != nil { rocksdb_pinnableslice_destroy(slice) } }
        var found: [[UInt8]?] = []
        found.reserveCapacity(keys.count)
        for index in keys.indices {
            try Self.check(errors[index], "multi-get")
            guard let slice = slices[index] else {
                found.append(nil)
                continue
            }
            var length = 0
            let value = rocksdb_pinnableslice_value(slice, &length)
            found.append(value.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: length)) } ?? [])
        }
        return found
    }

    /// Compacts every column family over its whole key range.
    func compactAll() {
        for handle in families.values { rocksdb_compact_range_cf(database, handle, nil, 0, nil, 0) }
    }

    /// A cursor over the live `family` as it is now (later writes are not seen), at the first key ≥ `start`.
    public func cursor(_ family: String, from start: [UInt8]) -> RocksDBCursor {
        Self.quietPerfCounters()
        return RocksDBCursor(iterator: rocksdb_create_iterator_cf(database, readOptions, self.family(family)), source: self, from: start)
    }

    /// Every key and value in `family` from `start` on, in key order, until `body` returns false.
    public func scan(_ family: String, from start: [UInt8] = [], _ body: ([UInt8], [UInt8]) throws(StorageError) -> Bool) throws(StorageError) {
        let iterator = rocksdb_create_iterator_cf(database, readOptions, self.family(family))
        defer { rocksdb_iter_destroy(iterator) }
        start.withUnsafeBufferPointer { keyBuffer in
            keyBuffer.withMemoryRebound(to: CChar.self) { rocksdb_iter_seek(iterator, $0.baseAddress, $0.count) }
        }
        while rocksdb_iter_valid(iterator) != 0 {
            var keyLength = 0
            var valueLength = 0
            let key = rocksdb_iter_key(iterator, &keyLength)!
            let value = rocksdb_iter_value(iterator, &valueLength)
            let keep = try body(
                [UInt8](UnsafeRawBufferPointer(start: key, count: keyLength)),
                value.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: valueLength)) } ?? [])
            guard keep else { return }
            rocksdb_iter_next(iterator)
        }
        var error: UnsafeMutablePointer<CChar>? = nil
        rocksdb_iter_get_error(iterator, &error)
        try Self.check(error, "scan")
    }

    static func check(_ error: UnsafeMutablePointer<CChar>?, _ operation: String) throws(StorageError) {
        guard let error else { return }
        let message = String(cString: error)
        rocksdb_free(error)
        throw StorageError.rocksDB(operation: operation, message: message)
    }
}

/// A set of writes applied atomically by `RocksDB.write`. Owns its `rocksdb_writebatch_t`.
public final class WriteBatch {
    let handle: OpaquePointer
    private unowned let database: RocksDB

    public init(for database: RocksDB) {
        handle = rocksdb_writebatch_create()
        self.database = database
    }

    /// Takes ownership of `handle`.
    init(handle: OpaquePointer, database: RocksDB) {
        self.handle = handle
        self.database = database
    }

    deinit {
        rocksdb_writebatch_destroy(handle)
    }

    public func put(_ family: String, _ key: [UInt8], _ value: [UInt8]) {
        key.withUnsafeBufferPointer { keyBuffer in
            value.withUnsafeBufferPointer { valueBuffer in
                keyBuffer.withMemoryRebound(to: CChar.self) { k in
                    valueBuffer.withMemoryRebound(to: CChar.self) { v in
                        rocksdb_writebatch_put_cf(handle, database.family(family), k.baseAddress, k.count, v.baseAddress, v.count)
                    }
                }
            }
        }
    }

    public func delete(_ family: String, _ key: [UInt8]) {
        key.withUnsafeBufferPointer { keyBuffer in
            keyBuffer.withMemoryRebound(to: CChar.self) {
                rocksdb_writebatch_delete_cf(handle, database.family(family), $0.baseAddress, $0.count)
            }
        }
    }

    /// How many puts and deletes the batch holds.
    public var count: Int { Int(rocksdb_writebatch_count(handle)) }

    /// Marks the current state; `rollBack()` returns to it. Save points stack.
    public func setSavePoint() {
        rocksdb_writebatch_set_save_point(handle)
    }

    /// Forgets the last save point, keeping what was written since.
    public func popSavePoint() throws(StorageError) {
        var error: UnsafeMutablePointer<CChar>? = nil
        rocksdb_writebatch_pop_save_point(handle, &error)
        try RocksDB.check(error, "pop save point")
    }

    /// Undoes every change since the last save point, and forgets the save point.
    public func rollBack() throws(StorageError) {
        var error: UnsafeMutablePointer<CChar>? = nil
        rocksdb_writebatch_rollback_to_save_point(handle, &error)
        try RocksDB.check(error, "roll back to save point")
    }

    /// Deletes every key in `[start, end)`.
    public func deleteRange(_ family: String, from start: [UInt8], to end: [UInt8]) {
        start.withUnsafeBufferPointer { startBuffer in
            end.withUnsafeBufferPointer { endBuffer in
                startBuffer.withMemoryRebound(to: CChar.self) { s in
                    endBuffer.withMemoryRebound(to: CChar.self) { e in
                        rocksdb_writebatch_delete_range_cf(handle, database.family(family), s.baseAddress, s.count, e.baseAddress, e.count)
                    }
                }
            }
        }
    }
}
