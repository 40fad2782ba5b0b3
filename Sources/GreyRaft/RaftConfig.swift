/// Tunables of one Raft node. Time is counted in ticks; the runtime decides how long a tick is.
public struct RaftConfig: Sendable {
    public var id: NodeID
    /// Minimum election timeout; each term draws a timeout in [this, 2 × this).
    public var electionTimeoutTicks = 10
    public var heartbeatIntervalTicks = 1
    /// Leaders step down when they cannot reach a quorum for an election timeout, and
    /// followers that hear from a leader ignore vote requests for that long (§6.2, §9.6).
    public var checkQuorum = true
    /// Candidates ask first whether they could win before disturbing anyone (§9.6).
    public var preVote = true
    /// AppendEntries messages in flight to one follower in replicate state.
    public var maxInflightMessages = 256
    /// Bytes of entries in flight to one follower.
    public var maxInflightBytes = 16 << 20
    /// Bytes of entries in one AppendEntries.
    public var maxMessageBytes = 1 << 20
    /// The most two nodes' clocks may differ in rate, as a fraction (0.05: one may count 5%
    /// more time than another over the same interval). Leases are shortened by it.
    public var maxClockDrift = 0.0
    /// Seeds the election-timeout generator; the same seed replays the same timeouts.
    public var seed: UInt64
    /// Deliberate safety bugs, switched on only by tests that prove the checkers catch them.
    package var brokenVariants: BrokenVariants = []

    public init(id: NodeID, seed: UInt64) {
        self.id = id
        self.seed = seed
    }

    /// Ticks a leader's lease lasts from the tick its confirmed round was sent; 0: no lease,
    /// lease reads go through ReadIndex.
    ///
    /// A voter that acknowledged the round holds off other candidates for `electionTimeoutTicks`
    /// of its own ticks after receiving it. Counted in whole ticks, that can be as little as
    /// `electionTimeoutTicks - 1` tick periods of real time (its first tick may come just
    /// after the round arrived); on a clock running `1 + maxClockDrift` times faster than the
    /// leader's, `(electionTimeoutTicks - 1) / (1 + maxClockDrift)` of the leader's periods.
    /// The leader reading tick `k` may be anywhere in `[k, k + 1)`, so it serves on the lease
    /// only while `k + 1` is within that bound of the round's tick.
    public var leaseTicks: Int {
        guard maxClockDrift >= 0, electionTimeoutTicks > 1 else { return 0 }
        return max(0, Int((Double(electionTimeoutTicks - 1) / (1 + maxClockDrift)).rounded(.down)))
    }
}

/// Known-wrong behaviours the simulation must catch (see Tests/GreyRaftTests).
package struct BrokenVariants: OptionSet, Sendable {
    package let rawValue: Int
    package init(rawValue: Int) { self.rawValue = rawValue }
    /// Commit by counting replicas of an entry from an earlier term (the Figure 8 bug, §5.4.2).
    package static let commitOldTermByCount = BrokenVariants(rawValue: 1 << 0)
    /// Persist the term but not the vote, so a restarted node can vote twice in one term.
    package static let forgetVote = BrokenVariants(rawValue: 1 << 1)
    /// Answer ReadIndex at once, without confirming leadership with a quorum.
    package static let readIndexWithoutQuorum = BrokenVariants(rawValue: 1 << 2)
    /// Grant votes without checking that the candidate's log is up to date (§5.4.1).
    package static let skipLogUpToDateCheck = BrokenVariants(rawValue: 1 << 3)
    /// Keep serving lease reads after sending TimeoutNow (the target may already lead).
    package static let leaseDuringTransfer = BrokenVariants(rawValue: 1 << 4)
    /// `ClockedRaftNode` hands inputs to the core without delivering the ticks due first
    /// (only the runtime's timer ticks), as GreyNode did before.
    package static let inputBeforeTicks = BrokenVariants(rawValue: 1 << 5)
    /// Accept a membership change before this leader's no-op has committed.
    package static let configChangeBeforeNoop = BrokenVariants(rawValue: 1 << 6)
    /// Take a closed connection as proof the leader is dead: forget it (and so vote at once)
    /// and campaign without waiting out the voters' stickiness.
    package static let trustClosedConnection = BrokenVariants(rawValue: 1 << 7)
}

/// What a node recovers from disk at restart.
public struct DurableState: Sendable {
    public var hardState: HardState
    /// The snapshot the log starts after, if any.
    public var snapshot: SnapshotMetadata?
    /// Log entries after the snapshot, in order.
    public var entries: [LogEntry]
    /// The state machine's applied index; committed entries after it are handed out again.
    public var appliedIndex: LogIndex

    public init(hardState: HardState = HardState(), snapshot: SnapshotMetadata? = nil, entries: [LogEntry] = [], appliedIndex: LogIndex = 0) {
        self.hardState = hardState
        self.snapshot = snapshot
        self.entries = entries
        self.appliedIndex = appliedIndex
    }
}
