import GreyRaft
import GreyStorage
import GreyWire

/// The state machine: an etcd-style multi-version key-value store in the node's RocksDB.
///
/// One revision for the whole store, +1 per write command; every version of every key kept
/// until compacted, so a Range can read any revision not compacted yet and a watch can replay
/// the history (`MVCCKeys` has the layout). Applying writes the commands' changes and the
/// applied index in one atomic batch, so a crash never applies a log entry twice or skips one.
/// Blocking: call from a storage thread.
public final class MVCCStore: @unchecked Sendable {
    // @unchecked Sendable: all state is in RocksDB (thread-safe); no mutable Swift state.
    static let family = RaftStorage.stateFamily
    private let storage: RaftStorage

    public init(storage: RaftStorage) {
        self.storage = storage
    }

    /// Applies a run of committed commands in one batch with `appliedIndex`; returns each
    /// command's outcome in order. Throws only when the store itself fails.
    public func apply(_ commands: [MVCCCommand], appliedIndex: LogIndex) throws(StorageError) -> [MVCCOutcome] {
        let batch = storage.stateBatch()
        let applier: MVCCApplier
        do {
            applier = try MVCCApplier(batch: batch)
        } catch {
            throw StorageError.corrupted("\(error)")
        }
        var outcomes: [MVCCOutcome] = []
        outcomes.reserveCapacity(commands.count)
        for command in commands { outcomes.append(try applier.apply(command)) }
        try storage.writeState(batch, appliedIndex: appliedIndex)
        return outcomes
    }

    /// Answers a Range from what this node has applied.
    public func range(_ request: Etcd.RangeRequest) throws(MVCCError) -> Etcd.RangeResponse {
        try liveReader.range(request)
    }

    /// The store's revision now.
    public func revision() throws(MVCCError) -> Int64 {
        try liveReader.revision()
    }

    /// The revision compacted through (0: none yet).
    public func compactedRevision() throws(MVCCError) -> Int64 {
        try liveReader.compacted()
    }

    private var liveReader: MVCCReader { MVCCReader { [storage] in storage.stateCursor(from: $0) } }
}
