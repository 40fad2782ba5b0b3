import GreyRaft

/// What a simulated node has on disk: everything survives a crash; nothing else does.
struct DurableStore {
    var hardState = HardState()
    var snapshot: SnapshotMetadata? = nil
    /// The state machine's image (`KVStateMachine.image`) at the snapshot.
    var snapshotImage: [String: String] = [:]
    var entries: [LogEntry] = []
    /// Applies are written atomically with the applied index, as Grey's RocksDB apply is.
    var machine = KVStateMachine()

    mutating func write(_ ready: Ready) {
        if let snapshot = ready.snapshot {
            snapshotImage = SnapshotCodec.decode(snapshot.data)
            self.snapshot = snapshot.metadata
            entries = []
            machine.restore(image: snapshotImage, appliedIndex: snapshot.metadata.index)
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
        snapshotImage = machine.image
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

/// One simulated server: a Raft core behind the node's own clock, its disk, and the requests
/// it is serving.
final class SimNode {
    let id: NodeID
    /// The core, reached only as Grey's runtime reaches it: through `ClockedRaftNode`, each
    /// input with this node's clock reading. nil while the node is down.
    var core: ClockedRaftNode?
    /// The core, for the checkers' queries.
    var raft: RaftNode? { core?.raft }
    /// How fast this node's monotonic clock runs against simulated time (1 + at most the
    /// configured drift bound), and where it started: clocks differ as real machines' do.
    var clockRate = 1.0
    var clockOriginNanoseconds: Int64 = 0
    /// What the process wrote: survives the process being killed (the page cache keeps it).
    var disk = DurableStore()
    /// What the last synced write made durable: all that survives a power loss. RocksDB has
    /// one WAL, so a synced write also makes every earlier unsynced one durable (commit-only
    /// hard states, applies, compactions).
    var syncedDisk = DurableStore()
    /// Bumped by every crash so events meant for the previous life are ignored.
    var incarnation = 0
    var pausedUntil: Int? = nil
    /// Inputs that reached this node while it was paused: handed to it, in an order of the
    /// seed's choosing (as epoll may return its sockets), the moment it resumes — before its
    /// timer fires.
    var inbox: [Simulation.Event] = []
    /// When the last queued Ready finishes (its fsync done); Readies complete in order.
    var pipelineFreeAt = 0
    var pendingReadies = 0
    /// Readies whose fsync ended while the process was paused: they complete, in order, the
    /// moment it resumes (before anything in `inbox`).
    var heldReadies: [Ready] = []
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

    var isUp: Bool { core != nil && !removed }

    /// This node's monotonic clock at simulated millisecond `now`.
    func clock(at now: Int) -> Duration {
        .nanoseconds(clockOriginNanoseconds + Int64((Double(now) * 1_000_000 * clockRate).rounded(.down)))
    }
}
