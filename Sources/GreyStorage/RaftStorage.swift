import GreyRaft
import GreyWire

/// A node's durable Raft state in one RocksDB instance:
/// - column family `log`: entries keyed by big-endian index, so key order is log order;
/// - column family `meta`: hard state, snapshot metadata, the node's identity;
/// - column family `state`: the state machine's data and its applied index, written together.
///
/// `persist(_:)` turns one `Ready` into one synced write batch — truncation, new entries and
/// hard state together — which is the group commit: however many proposals went into the
/// Ready, they cost one fsync. Blocking: call from a storage thread, never an event loop.
public final class RaftStorage: @unchecked Sendable {
    // @unchecked Sendable: all state lives in RocksDB, which is thread-safe; this class keeps
    // no mutable Swift state.
    let database: RocksDB
    /// The data directory; received snapshots are written beside the database.
    public let directory: String

    static let families = ["log", "meta", "state"]
    static let hardStateKey = Array("hard-state".utf8)
    static let snapshotKey = Array("snapshot".utf8)
    static let nodeIDKey = Array("node-id".utf8)
    static let appliedKey = Array("\u{0}applied-index".utf8)
    static let bootstrapKey = Array("bootstrap-configuration".utf8)
    static let clusterIDKey = Array("cluster-id".utf8)
    /// Present while a received snapshot is being installed: the file to install again from
    /// if the node crashes half-way.
    static let installingKey = Array("installing-snapshot".utf8)
    /// Present in a directory `greyctl snapshot restore` seeded until greyd adopts it with its
    /// new cluster's membership.
    static let restoredKey = Array("restored-snapshot".utf8)
    /// The first byte of every state-machine key (the applied index sorts before them).
    public static let dataPrefix: UInt8 = 0x01

    /// The membership the cluster was formed with (the log holds only later changes).
    public func bootstrapConfiguration() throws(StorageError) -> GreyRaft.Configuration? {
        guard let bytes = try database.get("meta", Self.bootstrapKey) else { return nil }
        guard let wire = try? GreyWire.Configuration(decoding: bytes) else { throw .corrupted("bootstrap configuration does not decode") }
        return LogEntryCodec.raftConfiguration(wire)
    }

    /// The cluster id a joiner learned from the cluster it joined (a founder derives its own
    /// from the founding membership, and has none stored).
    public func clusterID() throws(StorageError) -> UInt64? {
        try database.get("meta", Self.clusterIDKey).map { Self.decodeUInt64($0) }
    }

    /// Records the cluster id a joiner learned, before it joins.
    public func saveClusterID(_ id: UInt64) throws(StorageError) {
        let batch = WriteBatch(for: database)
        batch.put("meta", Self.clusterIDKey, Self.encodeUInt64(id))
        try database.write(batch, sync: true)
    }

    /// Records the founding membership. A directory seeded by `greyctl snapshot restore`
    /// adopts it as its snapshot's membership in the same write: the restored data now
    /// belongs to this new cluster.
    public func saveBootstrapConfiguration(_ configuration: GreyRaft.Configuration) throws(StorageError) {
        let batch = WriteBatch(for: database)
        batch.put("meta", Self.bootstrapKey, LogEntryCodec.wireConfiguration(configuration).encoded())
        if try isRestoredSeed(), let bytes = try database.get("meta", Self.snapshotKey) {
            var snapshot = try Self.decodeSnapshot(bytes)
            snapshot.configuration = configuration
            batch.put("meta", Self.snapshotKey, Self.encodeSnapshot(snapshot))
            batch.delete("meta", Self.restoredKey)
        }
        try database.write(batch, sync: true)
    }

    /// Opens the store in `directory`, creating it for a new node. Refuses a directory
    /// written by another node id, or one whose log has a gap.
    public init(directory: String, nodeID: NodeID, statistics: Bool = false) throws(StorageError) {
        database = try RocksDB(path: directory, columnFamilies: Self.families, createIfMissing: true, statistics: statistics)
        self.directory = directory
        if let stamped = try database.get("meta", Self.nodeIDKey) {
            let owner = Self.decodeUInt64(stamped)
            guard owner == nodeID.rawValue else {
                throw .foreignDataDirectory("\(directory) holds the data of node \(owner), not node \(nodeID.rawValue)")
            }
        } else {
            let batch = WriteBatch(for: database)
            batch.put("meta", Self.nodeIDKey, Self.encodeUInt64(nodeID.rawValue))
            try database.write(batch, sync: true)
        }
    }

    /// Creates a data directory no node owns yet, for `restore(from:into:)`; the first greyd
    /// started on it stamps its node id.
    init(seeding directory: String) throws(StorageError) {
        database = try RocksDB(path: directory, columnFamilies: Self.families, createIfMissing: true)
        self.directory = directory
    }

    /// Opens an existing data directory for inspection (`greyctl fsck`): creates nothing and
    /// accepts whichever node wrote it, reported as `nodeID`.
    public init(existingDirectory directory: String) throws(StorageError) {
        database = try RocksDB(path: directory, columnFamilies: Self.families, createIfMissing: false)
        self.directory = directory
        // A directory `greyctl snapshot restore` seeded has no owner until its first start.
        let owned = try database.get("meta", Self.nodeIDKey) != nil
        let restored = try database.get("meta", Self.restoredKey) != nil
        guard owned || restored else {
            throw .corrupted("\(directory) has no node identity: not a Grey data directory, or damaged")
        }
    }

    /// How many times the write-ahead log was synced (opened with `statistics` only): what a
    /// test counts to know a write that must be durable really was synced.
    public func walSyncs() -> Int? { database.walSyncs() }

    /// See `RocksDB.prepareForExit`: for a process leaving without closing the database.
    public func prepareForExit() { database.prepareForExit() }

    /// The durable term, vote and commit index; nil for a node that has never written one.
    public func hardState() throws(StorageError) -> HardState? {
        try database.get("meta", Self.hardStateKey).map { (bytes) throws(StorageError) in try Self.decodeHardState(bytes) }
    }

    /// The node that owns this directory.
    public func nodeID() throws(StorageError) -> NodeID? {
        try database.get("meta", Self.nodeIDKey).map { NodeID(Self.decodeUInt64($0)) }
    }

    /// Everything the Raft core needs at restart, checked for continuity.
    public func load() throws(StorageError) -> DurableState {
        try finishInterruptedInstall()
        removeLeftoverIncomingSnapshots()
        var state = DurableState()
        if let bytes = try database.get("meta", Self.hardStateKey) { state.hardState = try Self.decodeHardState(bytes) }
        if let bytes = try database.get("meta", Self.snapshotKey) { state.snapshot = try Self.decodeSnapshot(bytes) }
        let firstExpected = (state.snapshot?.index ?? 0).next
        var entries: [LogEntry] = []
        try database.scan("log", from: Self.logKey(firstExpected)) { key, value throws(StorageError) in
            let entry = try LogEntryCodec.decode(value)
            let expected = entries.last.map { $0.index.next } ?? firstExpected
            guard entry.index == expected, Self.logKey(entry.index) == key else {
                throw .corrupted("log entry \(entry.index) found where \(expected) was expected")
            }
            entries.append(entry)
            return true
        }
        state.entries = entries
        state.appliedIndex = try appliedIndex()
        let lastIndex = entries.last?.index ?? state.snapshot?.index ?? 0
        guard state.appliedIndex <= max(state.hardState.commit, state.snapshot?.index ?? 0) else {
            throw .corrupted("applied index \(state.appliedIndex) is past the commit index \(state.hardState.commit)")
        }
        guard state.hardState.commit <= lastIndex else {
            throw .corrupted("commit index \(state.hardState.commit) is past the last log entry \(lastIndex)")
        }
        return state
    }

    /// Makes a Ready's snapshot metadata, truncation, entries and hard state durable in one
    /// write, synced (fsync before returning) whenever the Ready says it must be.
    public func persist(_ ready: Ready) throws(StorageError) {
        guard ready.needsPersistence else { return }
        let batch = WriteBatch(for: database)
        if let snapshot = ready.snapshot {
            batch.deleteRange("log", from: Self.logKey(0), to: Self.logKey(LogIndex(UInt64.max)))
            batch.put("meta", Self.snapshotKey, Self.encodeSnapshot(snapshot.metadata))
        }
        if let from = ready.truncateFrom {
            batch.deleteRange("log", from: Self.logKey(from), to: Self.logKey(LogIndex(UInt64.max)))
        }
        for entry in ready.entries {
            batch.put("log", Self.logKey(entry.index), LogEntryCodec.encode(entry))
        }
        if let hardState = ready.hardState {
            batch.put("meta", Self.hardStateKey, Self.encodeHardState(hardState))
        }
        try database.write(batch, sync: ready.mustSync)
    }

    /// Writes state machine changes together with the applied index they bring it to, so a
    /// crash never applies an entry twice or skips one. Not synced: the log is durable, and
    /// entries applied but lost in a crash are applied again from it.
    public func apply(_ changes: [(key: [UInt8], value: [UInt8]?)], appliedIndex: LogIndex) throws(StorageError) {
        let batch = WriteBatch(for: database)
        for change in changes {
            let key = Self.stateKey(change.key)
            if let value = change.value { batch.put("state", key, value) } else { batch.delete("state", key) }
        }
        batch.put("state", Self.appliedKey, Self.encodeUInt64(appliedIndex.rawValue))
        try database.write(batch, sync: false)
    }

    /// A value of the state machine.
    public func value(_ key: [UInt8]) throws(StorageError) -> [UInt8]? {
        try database.get("state", Self.stateKey(key))
    }

    public func appliedIndex() throws(StorageError) -> LogIndex {
        try database.get("state", Self.appliedKey).map { LogIndex(Self.decodeUInt64($0)) } ?? 0
    }

    /// Records that a snapshot now covers the log through `metadata.index` and drops those entries.
    /// Does nothing when the store already starts later (a snapshot was installed meanwhile).
    public func compact(through metadata: SnapshotMetadata) throws(StorageError) {
        if let bytes = try database.get("meta", Self.snapshotKey), try Self.decodeSnapshot(bytes).index >= metadata.index { return }
        let batch = WriteBatch(for: database)
        batch.put("meta", Self.snapshotKey, Self.encodeSnapshot(metadata))
        batch.deleteRange("log", from: Self.logKey(0), to: Self.logKey(metadata.index.next))
        try database.write(batch, sync: true)
    }

    // MARK: - Encodings

    /// State-machine keys carry a one-byte prefix so they never collide with the applied-index key.
    static func stateKey(_ key: [UInt8]) -> [UInt8] { [dataPrefix] + key }

    static func logKey(_ index: LogIndex) -> [UInt8] { encodeUInt64(index.rawValue) }

    static func encodeUInt64(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * UInt64($0))) }
    }

    static func decodeUInt64(_ bytes: some Collection<UInt8>) -> UInt64 {
        bytes.prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    static func encodeHardState(_ hardState: HardState) -> [UInt8] {
        encodeUInt64(hardState.term.rawValue) + encodeUInt64(hardState.commit.rawValue)
            + (hardState.votedFor.map { [1] + encodeUInt64($0.rawValue) } ?? [0])
    }

    static func decodeHardState(_ bytes: [UInt8]) throws(StorageError) -> HardState {
        guard bytes.count == 17 || bytes.count == 25 else { throw .corrupted("hard state has \(bytes.count) bytes") }
        let voted = bytes[16] == 1 ? NodeID(decodeUInt64(Array(bytes[17...]))) : nil
        return HardState(term: Term(decodeUInt64(Array(bytes[0..<8]))), votedFor: voted, commit: LogIndex(decodeUInt64(Array(bytes[8..<16]))))
    }

    static func encodeSnapshot(_ metadata: SnapshotMetadata) -> [UInt8] {
        encodeUInt64(metadata.index.rawValue) + encodeUInt64(metadata.term.rawValue)
            + LogEntryCodec.wireConfiguration(metadata.configuration).encoded()
    }

    static func decodeSnapshot(_ bytes: [UInt8]) throws(StorageError) -> SnapshotMetadata {
        guard bytes.count >= 16, let configuration = try? GreyWire.Configuration(decoding: Array(bytes[16...])) else {
            throw .corrupted("snapshot metadata does not decode")
        }
        return SnapshotMetadata(
            index: LogIndex(decodeUInt64(Array(bytes[0..<8]))), term: Term(decodeUInt64(Array(bytes[8..<16]))),
            configuration: LogEntryCodec.raftConfiguration(configuration))
    }
}
