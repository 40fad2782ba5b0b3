import Foundation
import GreyRaft
import GreyWire

#if canImport(Glibc)
import Glibc
#endif

/// Snapshots of the state machine: reading one out of a frozen view, installing a received
/// one in place of the state and log, and seeding a new data directory from a backup.
///
/// The state machine lives in RocksDB and is always current, so "taking a snapshot" costs
/// nothing: compaction records the point the log now starts after, and a snapshot for a
/// follower or a backup is read from a RocksDB view of the state at its applied index.
extension RaftStorage {
    /// A frozen view of the whole store, for reading a snapshot while writes go on.
    public func freeze() -> RocksDBView {
        RocksDBView(of: database)
    }

    /// The applied index of the state in `view`.
    public static func appliedIndex(in view: RocksDBView) throws(StorageError) -> LogIndex {
        try view.get("state", appliedKey).map { LogIndex(decodeUInt64($0)) } ?? 0
    }

    /// Where a snapshot being received is written: one file per snapshot, so a second transfer
    /// never truncates a file the first one is still installing from.
    public func incomingSnapshotPath(index: UInt64, term: UInt64) -> String {
        directory + "/\(Self.incomingPrefix)\(index)-\(term)"
    }

    static let incomingPrefix = "snapshot.incoming."

    /// Removes snapshot files left by transfers a stop interrupted (after any interrupted
    /// install was finished from its file), including the single `snapshot.incoming` file
    /// earlier versions wrote.
    func removeLeftoverIncomingSnapshots() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names where name.hasPrefix(Self.incomingPrefix) || name == "snapshot.incoming" {
            unlink(directory + "/" + name)
        }
    }

    /// Whether this directory was seeded by `greyctl snapshot restore` and not yet started.
    public func isRestoredSeed() throws(StorageError) -> Bool {
        try database.get("meta", Self.restoredKey) != nil
    }

    /// Replaces the state machine and the log with the snapshot in `path`, atomically as far
    /// as a reader after a crash can tell: a marker naming the file is synced first, and
    /// removed in the same write that records the snapshot; `load()` finishes an install the
    /// marker says was interrupted. Streams the file: memory stays at a few MiB.
    public func installSnapshot(file path: String, metadata: SnapshotMetadata) throws(StorageError) {
        let marker = WriteBatch(for: database)
        marker.put("meta", Self.installingKey, Array(path.utf8))
        try database.write(marker, sync: true)
        try install(file: path, expecting: metadata)
    }

    private func install(file path: String, expecting expected: SnapshotMetadata?) throws(StorageError) {
        var batch = WriteBatch(for: database)
        batch.deleteRange("state", from: [0x00], to: [0xFF])
        var batchBytes = 0
        var decoder = SnapshotDecoder()
        try Self.readFile(path) { (piece) throws(StorageError) in
            try decoder.feed(piece) { (key, value) throws(StorageError) in
                batch.put("state", Self.stateKey(key), value)
                batchBytes += key.count + value.count
                if batchBytes >= 8 << 20 {
                    try database.write(batch, sync: false)
                    batch = WriteBatch(for: database)
                    batchBytes = 0
                }
            }
        }
        try decoder.finish()
        let metadata = decoder.metadata!
        if let expected, expected.index != metadata.index || expected.term != metadata.term {
            throw .corrupted("snapshot file \(path) holds index \(metadata.index) term \(metadata.term), expected index \(expected.index) term \(expected.term)")
        }
        batch.put("state", Self.appliedKey, Self.encodeUInt64(metadata.index.rawValue))
        batch.put("meta", Self.snapshotKey, Self.encodeSnapshot(expected ?? metadata))
        batch.deleteRange("log", from: Self.logKey(0), to: Self.logKey(LogIndex(UInt64.max)))
        batch.delete("meta", Self.installingKey)
        try database.write(batch, sync: true)
    }

    /// Redoes an install a crash interrupted (the marker is still there), or refuses to start
    /// when the file it needs is gone.
    func finishInterruptedInstall() throws(StorageError) {
        guard let pathBytes = try database.get("meta", Self.installingKey) else { return }
        let path = String(decoding: pathBytes, as: UTF8.self)
        guard access(path, R_OK) == 0 else {
            throw .corrupted("a snapshot install was interrupted and its file \(path) is gone; the state machine is incomplete")
        }
        try install(file: path, expecting: nil)
    }

    /// Seeds the empty `directory` with the state in the backup `file`, for the first node of
    /// a new cluster (each node of it restores the same file). Returns the backup's metadata.
    public static func restore(from file: String, into directory: String) throws(StorageError) -> SnapshotMetadata {
        var probe = stat()
        if stat(directory, &probe) == 0 {
            throw .foreignDataDirectory("\(directory) already exists; restore seeds a new data directory")
        }
        let storage = try RaftStorage(seeding: directory)
        try storage.install(file: file, expecting: nil)
        let metadata = try Self.decodeSnapshot(try storage.database.get("meta", snapshotKey)!)
        let batch = WriteBatch(for: storage.database)
        batch.put("meta", hardStateKey, encodeHardState(HardState(term: metadata.term, votedFor: nil, commit: metadata.index)))
        batch.put("meta", restoredKey, [1])
        try storage.database.write(batch, sync: true)
        return metadata
    }

    /// Reads a whole snapshot file and checks it (structure, record count, CRC); returns what
    /// it holds. For `greyctl snapshot create` to refuse to leave a damaged backup behind.
    public static func verifySnapshot(file path: String) throws(StorageError) -> (metadata: SnapshotMetadata, records: UInt64) {
        var decoder = SnapshotDecoder()
        try readFile(path) { (piece) throws(StorageError) in try decoder.feed(piece) { (_, _) throws(StorageError) in } }
        try decoder.finish()
        return (decoder.metadata!, decoder.records)
    }

    /// Reads `path` in 4 MiB pieces.
    static func readFile(_ path: String, _ body: ([UInt8]) throws(StorageError) -> Void) throws(StorageError) {
        guard let file = fopen(path, "rb") else {
            throw .io("cannot open snapshot \(path): \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var piece = [UInt8](repeating: 0, count: 4 << 20)
        while true {
            let count = piece.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if count == 0 {
                if ferror(file) != 0 { throw .io("cannot read snapshot \(path)") }
                return
            }
            try body(count == piece.count ? piece : Array(piece[0..<count]))
        }
    }
}
