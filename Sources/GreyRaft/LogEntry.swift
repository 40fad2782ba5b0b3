/// A change of membership, carried by a configuration log entry.
public enum ConfigChange: Hashable, Sendable, CustomStringConvertible {
    /// Add a non-voting member that receives the log to catch up.
    case addLearner(NodeID, address: String)
    /// Make a learner a voter.
    case promote(NodeID)
    /// Remove a member, voter or learner.
    case remove(NodeID)

    public var node: NodeID {
        switch self {
        case .addLearner(let id, _), .promote(let id), .remove(let id): id
        }
    }

    public var description: String {
        switch self {
        case let .addLearner(id, address): "add-learner \(id)@\(address)"
        case .promote(let id): "promote \(id)"
        case .remove(let id): "remove \(id)"
        }
    }
}

/// What a log entry carries.
public enum EntryPayload: Hashable, Sendable {
    /// A command for the state machine, opaque to the core.
    case command([UInt8])
    /// The empty entry a new leader appends so it can commit earlier terms' entries (§5.4.2).
    case noop
    /// A membership change, effective as soon as it is in a log (§4.1). It carries the whole
    /// resulting membership, so a server that joins with an empty log learns every member
    /// from the first configuration entry it receives, not only the change.
    case config(ConfigChange, result: Configuration)
}

/// One entry of the replicated log.
public struct LogEntry: Hashable, Sendable, CustomStringConvertible {
    public var term: Term
    public var index: LogIndex
    public var payload: EntryPayload

    public init(term: Term, index: LogIndex, payload: EntryPayload) {
        self.term = term
        self.index = index
        self.payload = payload
    }

    /// Bytes this entry adds to a message, for flow-control budgets.
    public var approximateBytes: Int {
        switch payload {
        case .command(let bytes): 24 + bytes.count
        case .noop: 24
        case .config(let change, let result): 40 + change.description.utf8.count + 16 * result.members.count
        }
    }

    public var description: String { "\(index)@\(term)" }
}

/// Identifies a snapshot: the last entry it covers and the membership at that point.
public struct SnapshotMetadata: Hashable, Sendable {
    public var index: LogIndex
    public var term: Term
    public var configuration: Configuration

    public init(index: LogIndex, term: Term, configuration: Configuration) {
        self.index = index
        self.term = term
        self.configuration = configuration
    }
}
