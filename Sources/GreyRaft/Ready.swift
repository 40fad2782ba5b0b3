/// What must survive a crash: the current term, the vote cast in it, and how far the log is
/// known committed (the commit index only speeds up restart; safety does not need it).
public struct HardState: Hashable, Sendable {
    public var term: Term
    public var votedFor: NodeID?
    public var commit: LogIndex

    public init(term: Term = 0, votedFor: NodeID? = nil, commit: LogIndex = 0) {
        self.term = term
        self.votedFor = votedFor
        self.commit = commit
    }
}

/// A linearizable read that may now be served once the state machine has applied `index`.
public struct ReadState: Hashable, Sendable {
    public var requestID: UInt64
    public var index: LogIndex
}

/// Things that happened that the runtime may want to report or act on.
public enum RaftEvent: Hashable, Sendable {
    /// This node's role or known leader changed.
    case roleChanged(Role, leader: NodeID?, term: Term)
    /// The configuration in effect changed (an entry was appended, truncated or snapshotted).
    case configurationChanged(Configuration)
    /// A read could not be served here.
    case readFailed(requestID: UInt64, RaftError)
    /// This node was removed from the configuration and has stopped taking part.
    case removed
}

/// The role a node plays.
public enum Role: Hashable, Sendable {
    case follower, preCandidate, candidate, leader
}

/// Everything the core asks the runtime to do after a batch of inputs.
///
/// The runtime must act in this order:
/// 1. Send `eagerMessages` at once: they are a leader's AppendEntries, which may leave before
///    the leader's own log write finishes (§10.2.1; the leader counts itself only after
///    `RaftNode.persisted(through:term:)`).
/// 2. Make `snapshot` (if any), then `truncateFrom`/`entries`, then `hardState` durable (fsync).
/// 3. Only then send `messages`: they may promise what step 2 wrote (a vote, an ack).
/// 4. Apply `committed` in order (already durable here), then serve `readStates` once
///    applied ≥ their index.
public struct Ready: Sendable {
    public var hardState: HardState?
    /// A snapshot received from the leader, to install in place of the log and state machine.
    public var snapshot: InstallSnapshot?
    /// Drop every log entry at or after this index before appending `entries`.
    public var truncateFrom: LogIndex?
    public var entries: [LogEntry] = []
    public var eagerMessages: [Envelope] = []
    public var messages: [Envelope] = []
    public var committed: [LogEntry] = []
    public var readStates: [ReadState] = []
    public var events: [RaftEvent] = []

    public init() {}

    /// Whether anything must be persisted before `messages` go out.
    public var needsPersistence: Bool { hardState != nil || snapshot != nil || truncateFrom != nil || !entries.isEmpty }

    /// Set by the core when the term or the vote changed: those must be on disk before a reply.
    public var termOrVoteChanged = false

    /// Whether the write must be synced (fsync) before `messages` go out. Entries, a snapshot,
    /// a truncation, a new term or a vote must; a commit index that moved alone need not,
    /// since safety never depends on it surviving a crash (etcd's rule as well). This halves
    /// the fsyncs of a write: one for the entry, none for learning it committed.
    public var mustSync: Bool { termOrVoteChanged || snapshot != nil || truncateFrom != nil || !entries.isEmpty }

    public var isEmpty: Bool {
        !needsPersistence && eagerMessages.isEmpty && messages.isEmpty && committed.isEmpty && readStates.isEmpty && events.isEmpty
    }
}
