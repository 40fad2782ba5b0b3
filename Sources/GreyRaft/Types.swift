/// A Raft term (§5.1): a logical clock that only moves forward.
public struct Term: RawRepresentable, Hashable, Comparable, Sendable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ value: UInt64) { self.rawValue = value }
    public init(integerLiteral value: UInt64) { self.rawValue = value }
    public static func < (lhs: Term, rhs: Term) -> Bool { lhs.rawValue < rhs.rawValue }
    public var next: Term { Term(rawValue + 1) }
    public var description: String { "t\(rawValue)" }
}

/// A position in the Raft log; index 0 is the empty log's start and holds no entry.
public struct LogIndex: RawRepresentable, Hashable, Comparable, Sendable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ value: UInt64) { self.rawValue = value }
    public init(integerLiteral value: UInt64) { self.rawValue = value }
    public static func < (lhs: LogIndex, rhs: LogIndex) -> Bool { lhs.rawValue < rhs.rawValue }
    public static func + (lhs: LogIndex, rhs: UInt64) -> LogIndex { LogIndex(lhs.rawValue + rhs) }
    public static func - (lhs: LogIndex, rhs: UInt64) -> LogIndex { LogIndex(lhs.rawValue - rhs) }
    public var next: LogIndex { LogIndex(rawValue + 1) }
    public var previous: LogIndex { LogIndex(rawValue == 0 ? 0 : rawValue - 1) }
    public var description: String { "i\(rawValue)" }
}

/// A cluster member's identity; 0 is a valid id.
public struct NodeID: RawRepresentable, Hashable, Comparable, Sendable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ value: UInt64) { self.rawValue = value }
    public init(integerLiteral value: UInt64) { self.rawValue = value }
    public static func < (lhs: NodeID, rhs: NodeID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "n\(rawValue)" }
}

/// Why the core refused a request. Mapped once to gRPC statuses at the RPC edge.
public enum RaftError: Error, Hashable, Sendable, CustomStringConvertible {
    /// This node does not lead; `leaderHint` is who it believes does, if anyone.
    case notLeader(leaderHint: NodeID?)
    /// The leader cannot currently reach a quorum.
    case quorumUnavailable
    /// Leadership is being handed to another node; retry there shortly.
    case transferInProgress
    /// Another membership change has not committed yet (one change at a time, §4.1).
    case configChangeInProgress
    /// The membership change makes no sense for the current configuration.
    case invalidConfigChange(String)
    /// The proposal was overwritten by a new leader and will never commit.
    case dropped

    public var description: String {
        switch self {
        case .notLeader(let hint): return hint.map { "not the leader (leader is \($0))" } ?? "not the leader (no leader known)"
        case .quorumUnavailable: return "quorum not available"
        case .transferInProgress: return "leadership transfer in progress"
        case .configChangeInProgress: return "another membership change is in progress"
        case .invalidConfigChange(let reason): return reason
        case .dropped: return "proposal dropped by a leader change"
        }
    }
}
