/// Bookkeeping for ReadIndex (§6.4) and leader leases.
///
/// Every heartbeat round carries a fresh, increasing read context. A read registered now
/// waits for a context sent after it; once a quorum has echoed that context (or a later
/// one), the leader knows it still led when the read arrived and the read may be served at
/// the commit index recorded then. The tick a quorum-confirmed round was sent starts the lease.
struct ReadIndexTracker: Sendable {
    struct Pending: Sendable {
        var requestID: UInt64
        var index: LogIndex
        var context: UInt64
    }

    private(set) var currentContext: UInt64 = 0
    private var sentTick: [UInt64: Int] = [:]
    private var acknowledged: [NodeID: UInt64] = [:]
    private(set) var confirmedContext: UInt64 = 0
    /// The tick at which the newest quorum-confirmed round was sent.
    private(set) var leaseStartTick: Int? = nil
    var pending: [Pending] = []
    /// Reads are waiting for a round that has not been sent yet.
    var roundWanted = false
    /// The context of the last round started for reads (0: none).
    var lastReadRound: UInt64 = 0
    /// Reads that arrived before this leader committed an entry of its term.
    var waitingForCommit: [(requestID: UInt64, lease: Bool)] = []
    /// This leader sent TimeoutNow in its term: no lease for the rest of the term (see `leaseIsValid`).
    var leaseForfeited = false

    /// Starts a new round; returns its context.
    mutating func newRound(atTick tick: Int) -> UInt64 {
        currentContext += 1
        sentTick[currentContext] = tick
        return currentContext
    }

    mutating func acknowledge(peer: NodeID, context: UInt64) {
        if context > acknowledged[peer, default: 0] { acknowledged[peer] = context }
    }

    /// Recomputes the newest context a quorum (this leader included) has echoed.
    mutating func confirm(context: UInt64? = nil, voters: Set<NodeID>, self id: NodeID) {
        var echoed = voters.map { $0 == id ? currentContext : acknowledged[$0, default: 0] }
        echoed.sort(by: >)
        guard !echoed.isEmpty else { return }
        let quorumContext = echoed[voters.count / 2]
        if quorumContext > confirmedContext {
            confirmedContext = quorumContext
            leaseStartTick = sentTick[quorumContext]
            sentTick = sentTick.filter { $0.key > quorumContext }
        }
    }

    /// Removes and returns the reads a quorum has now confirmed.
    mutating func takeConfirmed() -> [Pending] {
        let confirmed = pending.filter { $0.context <= confirmedContext }
        pending.removeAll { $0.context <= confirmedContext }
        return confirmed
    }
}

extension RaftNode {
    /// Asks to serve a linearizable read. When it may be served, `takeReady()` returns a
    /// `ReadState` with the index the state machine must have applied first; when it cannot
    /// (not the leader, leadership lost), a `.readFailed` event.
    ///
    /// With `lease`, a leader whose quorum answered a heartbeat sent less than an election
    /// timeout ago (minus one tick of margin) answers at once; otherwise it falls back to ReadIndex.
    public mutating func readIndex(requestID: UInt64, lease: Bool = false) {
        guard role == .leader else {
            ready.events.append(.readFailed(requestID: requestID, .notLeader(leaderHint: leader)))
            return
        }
        guard hasCommittedInTerm else {
            reads.waitingForCommit.append((requestID, lease))
            return
        }
        if config.brokenVariants.contains(.readIndexWithoutQuorum) || configuration.voters == [id]
            || (lease && leaseIsValid)
        {
            ready.readStates.append(ReadState(requestID: requestID, index: commitIndex))
            return
        }
        // Any round sent from now on was sent after this read arrived. Reads arriving while a
        // round is out share the next one: one round per round trip however many reads come,
        // where a round per read would cost two messages each (etcd batches the same way).
        reads.pending.append(.init(requestID: requestID, index: commitIndex, context: reads.currentContext + 1))
        reads.roundWanted = true
    }

    /// Sends the round waiting reads need, unless one is already out (called at takeReady).
    mutating func startReadRoundIfWanted() {
        guard role == .leader, reads.roundWanted else { return }
        if reads.pending.allSatisfy({ $0.context <= reads.confirmedContext }) {
            reads.roundWanted = false  // a heartbeat round confirmed them meanwhile
            return
        }
        guard reads.lastReadRound <= reads.confirmedContext else { return }  // one out already
        reads.roundWanted = false
        let context = reads.newRound(atTick: tickCount)
        reads.lastReadRound = context
        for peer in configuration.voters.sorted() where peer != id {
            sendHeartbeat(to: peer, context: context)
        }
    }

    /// Whether a lease read may skip the quorum round.
    ///
    /// The lease rests on the voters' stickiness: a voter that acknowledged this leader's round
    /// votes for nobody else until an election timeout has passed on its own clock (§6.4,
    /// `inLeaderLease`). That fails in two ways, both closed here:
    /// - A TimeoutNow campaign is exempt from stickiness, so once this leader has sent one
    ///   (a leadership transfer, or handing over on removal) the target may win with a
    ///   majority that leaves this node out, and this node cannot tell when. A TimeoutNow can
    ///   also arrive late, long after the transfer timed out here. So the lease is forfeited
    ///   for the rest of the term; reads go through ReadIndex until a new term.
    /// - Clocks run at different rates; the lease is shortened by the drift bound (`RaftConfig.leaseTicks`).
    var leaseIsValid: Bool {
        guard config.checkQuorum, role == .leader, config.leaseTicks > 0, let start = reads.leaseStartTick else { return false }
        guard !reads.leaseForfeited || config.brokenVariants.contains(.leaseDuringTransfer) else { return false }
        return tickCount < start + config.leaseTicks
    }

    /// The tick from which this leader's lease no longer holds, or nil when it holds none now
    /// (`leaseIsValid`).
    public var leaseEndTick: Int? {
        guard leaseIsValid, let start = reads.leaseStartTick else { return nil }
        return start + config.leaseTicks
    }

    /// Whether an entry of this term has committed: until one has, the commit index may be
    /// behind what the previous leader acknowledged (§6.4 step 1).
    public var hasCommittedInTerm: Bool {
        log.term(at: commitIndex) == term
    }

    mutating func releaseConfirmedReads() {
        guard role == .leader else { return }
        reads.confirm(voters: configuration.voters, self: id)
        for read in reads.takeConfirmed() {
            ready.readStates.append(ReadState(requestID: read.requestID, index: read.index))
        }
    }

    mutating func releaseReadsWaitingForCommit() {
        guard !reads.waitingForCommit.isEmpty, log.term(at: commitIndex) == term else { return }
        let waiting = reads.waitingForCommit
        reads.waitingForCommit = []
        for read in waiting { readIndex(requestID: read.requestID, lease: read.lease) }
    }

    mutating func failPendingReads(_ error: RaftError) {
        for read in reads.pending { ready.events.append(.readFailed(requestID: read.requestID, error)) }
        for read in reads.waitingForCommit { ready.events.append(.readFailed(requestID: read.requestID, error)) }
        reads = ReadIndexTracker()
    }
}
