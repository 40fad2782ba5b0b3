/// How replication to one follower stands, as its leader sees it (`RaftNode.replication(of:)`):
/// what `greyctl cluster replication` shows an operator.
public struct ReplicationStatus: Sendable, Equatable {
    public enum State: Sendable, Equatable {
        /// Unsure where the follower's log ends: one AppendEntries at a time.
        case probe
        /// Appends pipelined within the window.
        case replicate
        /// Behind the leader's log start: a snapshot is on its way.
        case snapshot
    }

    /// The last index known to be in the follower's log.
    public var match: LogIndex
    /// The next index the leader will send it.
    public var next: LogIndex
    public var state: State
    /// Ticks since the follower last answered; nil if it has not in this term.
    public var ticksSinceHeard: Int?
    /// AppendEntries sent and not yet acknowledged.
    public var inflight: Int
}
