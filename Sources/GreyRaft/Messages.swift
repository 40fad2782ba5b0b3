/// Asks for a vote, or with `preVote`, whether one would be granted (§9.6).
public struct RequestVote: Hashable, Sendable {
    public var term: Term
    public var lastLogIndex: LogIndex
    public var lastLogTerm: Term
    public var preVote: Bool
    /// Sent after TimeoutNow: voters grant even while they still hear from a leader (§3.10).
    public var leadershipTransfer: Bool

    public init(term: Term, lastLogIndex: LogIndex, lastLogTerm: Term, preVote: Bool, leadershipTransfer: Bool) {
        self.term = term
        self.lastLogIndex = lastLogIndex
        self.lastLogTerm = lastLogTerm
        self.preVote = preVote
        self.leadershipTransfer = leadershipTransfer
    }
}

/// A vote, or a pre-vote, granted or not.
public struct VoteResponse: Hashable, Sendable {
    public var term: Term
    public var granted: Bool
    public var preVote: Bool

    public init(term: Term, granted: Bool, preVote: Bool) {
        self.term = term
        self.granted = granted
        self.preVote = preVote
    }
}

/// Replicates entries after `prevLogIndex`; with none it is a heartbeat.
public struct AppendEntries: Hashable, Sendable {
    public var term: Term
    public var prevLogIndex: LogIndex
    public var prevLogTerm: Term
    public var entries: [LogEntry]
    public var leaderCommit: LogIndex
    /// Echoed back so the leader can tell which ReadIndex round a reply confirms.
    public var readContext: UInt64

    public init(term: Term, prevLogIndex: LogIndex, prevLogTerm: Term, entries: [LogEntry], leaderCommit: LogIndex, readContext: UInt64) {
        self.term = term
        self.prevLogIndex = prevLogIndex
        self.prevLogTerm = prevLogTerm
        self.entries = entries
        self.leaderCommit = leaderCommit
        self.readContext = readContext
    }
}

/// A follower's answer to AppendEntries.
public struct AppendResponse: Hashable, Sendable {
    public var term: Term
    public var success: Bool
    /// On success, the last index the follower now holds that matches the leader.
    public var matchIndex: LogIndex
    /// On failure, the `prevLogIndex` that did not match, so stale rejections can be ignored.
    public var rejectedIndex: LogIndex
    /// On failure, where the leader should look next (fast backtracking): the first index of
    /// `conflictTerm` in the follower's log, or its last index + 1 when it is simply short.
    public var conflictIndex: LogIndex
    public var conflictTerm: Term
    public var readContext: UInt64

    public init(term: Term, success: Bool, matchIndex: LogIndex, rejectedIndex: LogIndex, conflictIndex: LogIndex, conflictTerm: Term, readContext: UInt64) {
        self.term = term
        self.success = success
        self.matchIndex = matchIndex
        self.rejectedIndex = rejectedIndex
        self.conflictIndex = conflictIndex
        self.conflictTerm = conflictTerm
        self.readContext = readContext
    }
}

/// A whole snapshot. The core fills in the metadata; the runtime attaches the state
/// machine's bytes (and streams them in chunks on the wire).
public struct InstallSnapshot: Hashable, Sendable {
    public var term: Term
    public var metadata: SnapshotMetadata
    public var data: [UInt8]

    public init(term: Term, metadata: SnapshotMetadata, data: [UInt8]) {
        self.term = term
        self.metadata = metadata
        self.data = data
    }
}

/// A follower's answer to InstallSnapshot.
public struct SnapshotResponse: Hashable, Sendable {
    public var term: Term
    /// The follower's last index after installing (or refusing) the snapshot.
    public var matchIndex: LogIndex

    public init(term: Term, matchIndex: LogIndex) {
        self.term = term
        self.matchIndex = matchIndex
    }
}

/// Tells a caught-up follower to campaign at once (leadership transfer, §3.10).
public struct TimeoutNow: Hashable, Sendable {
    public var term: Term

    public init(term: Term) {
        self.term = term
    }
}

/// Every message nodes exchange.
public enum Message: Hashable, Sendable {
    case requestVote(RequestVote)
    case voteResponse(VoteResponse)
    case appendEntries(AppendEntries)
    case appendResponse(AppendResponse)
    case installSnapshot(InstallSnapshot)
    case snapshotResponse(SnapshotResponse)
    case timeoutNow(TimeoutNow)

    /// Whether this answers a request (and so carries the request's correlation).
    public var isReply: Bool {
        switch self {
        case .voteResponse, .appendResponse, .snapshotResponse: true
        case .requestVote, .appendEntries, .installSnapshot, .timeoutNow: false
        }
    }

    /// The sender's term.
    public var term: Term {
        switch self {
        case .requestVote(let m): m.term
        case .voteResponse(let m): m.term
        case .appendEntries(let m): m.term
        case .appendResponse(let m): m.term
        case .installSnapshot(let m): m.term
        case .snapshotResponse(let m): m.term
        case .timeoutNow(let m): m.term
        }
    }
}

/// A message with its sender and recipient.
public struct Envelope: Hashable, Sendable, CustomStringConvertible {
    public var from: NodeID
    public var to: NodeID
    public var message: Message
    /// Pairs a request with its reply. A runtime that answers each request on the request's
    /// own RPC tags the request; the core copies the tag onto the reply it produces while
    /// handling it. Replies do not leave in request order (a pre-vote answer goes out at
    /// once, a vote only after the disk write), so without a tag a reply could be handed to
    /// the wrong caller. 0: untagged.
    public var correlation: UInt64

    public init(from: NodeID, to: NodeID, message: Message, correlation: UInt64 = 0) {
        self.from = from
        self.to = to
        self.message = message
        self.correlation = correlation
    }

    public var description: String { "\(from)→\(to) \(message)" }
}
