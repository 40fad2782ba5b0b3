import GreyRaft

/// What a simulated node has on disk: everything survives a crash; nothing else does.
struct DurableStore {
    var hardState = HardState()
    var snapshot: SnapshotMetadata? = nil
    var snapshotValues: [String: String] = [:]
    var entries: [LogEntry] = []
    /// Applies are written atomically with the applied index, as Grey's RocksDB apply is.
    var machine = KVStateMachine()

    mutating func write(_ ready: Ready) {
        if let snapshot = ready.snapshot {
            snapshotValues = SnapshotCodec.decode(snapshot.data)
            self.snapshot = snapshot.metadata
            entries = []
            machine.restore(values: snapshotValues, appliedIndex: snapshot.metadata.index)
        }
        if let from = ready.truncateFrom {
            entries.removeAll { $0.index >= from }
        }
        if let first = ready.entries.first {
            entries.removeAll { $0.index >= first.index }
            entries.append(contentsOf: ready.entries)
        }
        if let hardState = ready.hardState { self.hardState = hardState }
    }

    mutating func takeSnapshot(metadata: SnapshotMetadata) {
        snapshot = metadata
        snapshotValues = machine.values
        entries.removeAll { $0.index <= metadata.index }
    }
}

/// Snapshot bytes for the simulated store: keys and values joined by control characters.
enum SnapshotCodec {
    static func encode(_ values: [String: String]) -> [UInt8] {
        Array(values.sorted { $0.key < $1.key }.map { "\($0.key)\u{1}\($0.value)" }.joined(separator: "\u{2}").utf8)
    }

    static func decode(_ bytes: [UInt8]) -> [String: String] {
        var values: [String: String] = [:]
        for pair in String(decoding: bytes, as: UTF8.self).split(separator: "\u{2}") {
            let parts = pair.split(separator: "\u{1}", maxSplits: 1, omittingEmptySubsequences: false)
            values[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        return values
    }
}

/// One simulated server: a Raft core, its disk, and the requests it is serving.
final class SimNode {
    let id: NodeID
    var raft: RaftNode?
    var disk = DurableStore()
    /// Bumped by every crash so events meant for the previous life are ignored.
    var incarnation = 0
    var pausedUntil: Int? = nil
    /// Simulated time of the last tick given to the core.
    var lastTickAt = 0
    /// When the last queued Ready finishes (its fsync done); Readies complete in order.
    var pipelineFreeAt = 0
    var pendingReadies = 0
    /// Proposals this node accepted: log index → (term, operation id).
    var proposals: [LogIndex: (term: Term, operation: UInt64)] = [:]
    /// Reads confirmed by Raft, waiting for the state machine to reach their index.
    var confirmedReads: [(index: LogIndex, operation: UInt64)] = []
    /// Reads handed to Raft and not yet confirmed: request id → operation id.
    var readRequests: Set<UInt64> = []
    var removed = false

    init(id: NodeID) {
        self.id = id
    }

    var isUp: Bool { raft != nil && !removed }
}
