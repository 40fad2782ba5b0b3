/// One Raft participant as a pure state machine: no threads, sockets, files, clocks or
/// global randomness. The runtime feeds it inputs — `tick()`, `step(_:)`, `propose(_:)`,
/// `readIndex(_:)`, `persisted(through:term:)` — and after a batch of them calls
/// `takeReady()` and performs the returned `Ready` in the order its documentation gives.
/// Batching inputs before `takeReady()` is how the runtime gets group commit: many proposals,
/// one log write, one fsync.
public struct RaftNode: Sendable {
    public let id: NodeID
    let config: RaftConfig

    public internal(set) var role: Role = .follower
    public internal(set) var term: Term = 0
    public internal(set) var votedFor: NodeID?
    /// Who this node believes leads the current term.
    public internal(set) var leader: NodeID?
    public internal(set) var log: RaftLog
    public internal(set) var commitIndex: LogIndex = 0
    /// The configuration in effect: the latest in the log, committed or not (§4.1).
    public internal(set) var configuration: Configuration
    /// Configurations by the index that introduced them; the first is the snapshot's (or the bootstrap one).
    var configurationHistory: [(index: LogIndex, configuration: Configuration)]
    /// The last index known durable in this node's own log.
    var durableIndex: LogIndex
    /// Committed entries handed to the runtime for applying, through this index.
    var committedHandedOut: LogIndex

    var random: SeededRandom
    /// Ticks since start; only for the startup vote guard and lease arithmetic.
    var tickCount = 0
    var electionElapsed = 0
    var heartbeatElapsed = 0
    var randomizedElectionTimeout = 0
    /// The timeout was shortened on a hint that the leader is down (`peerMayBeDown`).
    var electionHastened = false
    var votesGranted: Set<NodeID> = []
    var votesRejected: Set<NodeID> = []

    var progress: [NodeID: Progress] = [:]
    var pendingConfigIndex: LogIndex = 0
    var transferTarget: NodeID?
    var transferElapsed = 0
    var reads = ReadIndexTracker()
    var needsBroadcast = false
    /// The commit index moved with nothing new to send: followers learn it at the next tick
    /// (or sooner, on the next append). Announcing every commit at once would double the
    /// messages of a lone writer; a tick later costs followers' stale reads 10 ms at most.
    var commitToAnnounce = false
    /// Set once this node has learned it is no longer a member.
    public internal(set) var isRemoved = false
    /// Whether any configuration this node adopted included it (a joiner starts outside).
    var hasBeenMember = false

    var ready = Ready()
    /// The correlation of the request being stepped, copied onto the reply to it.
    var replyCorrelation: UInt64 = 0
    var persistedHardState: HardState

    /// A node starting from `durable` (all defaults for a brand-new one) with `bootstrap` as
    /// its membership when neither a snapshot nor the log says otherwise.
    public init(config: RaftConfig, bootstrap: Configuration, durable: DurableState = DurableState()) {
        self.id = config.id
        self.config = config
        self.random = SeededRandom(seed: config.seed)
        let snapshotIndex = durable.snapshot?.index ?? 0
        self.log = RaftLog(snapshotIndex: snapshotIndex, snapshotTerm: durable.snapshot?.term ?? 0, entries: durable.entries)
        let base = durable.snapshot?.configuration ?? bootstrap
        self.configurationHistory = [(snapshotIndex, base)]
        self.configuration = base
        self.hasBeenMember = base.contains(config.id)
        self.term = durable.hardState.term
        self.votedFor = durable.hardState.votedFor
        self.commitIndex = max(min(durable.hardState.commit, log.lastIndex), snapshotIndex)
        self.durableIndex = log.lastIndex
        self.committedHandedOut = max(durable.appliedIndex, snapshotIndex)
        self.persistedHardState = durable.hardState
        for entry in durable.entries {
            if case .config(_, let result) = entry.payload { adoptConfiguration(result, at: entry.index) }
        }
        resetElectionTimer()
    }

    // MARK: - Inputs

    /// Advances logical time by one tick.
    ///
    /// Ticks must follow a monotonic clock. After any stall (a paused process, a long GC or
    /// disk wait) the runtime delivers every missed tick before any other input: leases are
    /// counted in ticks, and a leader that handled a read before catching up could serve it on
    /// a lease that has already expired (the simulation found exactly that).
    ///
    /// A tick `whileStalled` is time this node's runtime could neither hear nor send: it
    /// counts for the lease and the leadership-transfer timeout, which are about the clock, but
    /// not for the timers that judge the others by their silence — the election timeout and
    /// check-quorum. A stall is no news of the others: when every node's disk stalls for 300
    /// ms at once (seen on CI), their messages wait in the sockets, and counting those 300 ms
    /// as silence deposed a live leader. Counting less is the safe side of both: a voter that
    /// under-counts refuses other candidates for longer (the lease rests on that), a leader
    /// that under-counts steps down later (its lease is judged by `tickCount`, which counts
    /// everything). etcd gets the same from Go's ticker, which drops the ticks a busy loop missed.
    public mutating func tick(whileStalled stalled: Bool = false) {
        tickCount += 1
        if role == .leader {
            tickLeader(stalled: stalled)
        } else if !stalled {
            electionElapsed += 1
            if electionElapsed >= randomizedElectionTimeout && isVoter && !isRemoved {
                campaign(transfer: false)
            }
        }
    }

    /// Handles a message from a peer.
    public mutating func step(_ envelope: Envelope) {
        guard envelope.to == id, envelope.from != id else { return }
        replyCorrelation = envelope.correlation
        defer { replyCorrelation = 0 }
        let message = envelope.message
        let from = envelope.from
        if message.term > term {
            switch message {
            case .requestVote(let request):
                if inLeaderLease && !request.leadershipTransfer {
                    // Stickiness (§6.2, §9.6): refuse while a leader is heard from. The refusal
                    // carries our lower term, which the candidate ignores; answering at all keeps
                    // every request paired with one reply, which RPC transports rely on.
                    send(to: from, .voteResponse(VoteResponse(term: term, granted: false, preVote: request.preVote)), afterPersist: false)
                    return
                }
                if !request.preVote { becomeFollower(term: message.term, leader: nil) }
            case .voteResponse(let response) where response.preVote && response.granted:
                break  // a pre-vote grant carries the term we asked about; nobody changed term
            case .appendEntries, .installSnapshot, .timeoutNow:
                becomeFollower(term: message.term, leader: from)
            default:
                becomeFollower(term: message.term, leader: nil)
            }
        } else if message.term < term {
            // Tell a stale leader or candidate the newer term so it steps down.
            switch message {
            case .appendEntries(let append):
                send(to: from, .appendResponse(AppendResponse(
                    term: term, success: false, matchIndex: 0, rejectedIndex: append.prevLogIndex,
                    conflictIndex: 0, conflictTerm: 0, readContext: 0)), afterPersist: false)
            case .requestVote(let request):
                send(to: from, .voteResponse(VoteResponse(term: term, granted: false, preVote: request.preVote)), afterPersist: false)
            case .installSnapshot:
                // Answered like any request, or the sender's RPC waits out its deadline.
                send(to: from, .snapshotResponse(SnapshotResponse(term: term, matchIndex: 0)), afterPersist: false)
            default:
                break
            }
            return
        }
        switch message {
        case .requestVote(let request): handleRequestVote(from: from, request)
        case .voteResponse(let response): handleVoteResponse(from: from, response)
        case .appendEntries(let append): handleAppendEntries(from: from, append)
        case .appendResponse(let response): handleAppendResponse(from: from, response)
        case .installSnapshot(let snapshot): handleInstallSnapshot(from: from, snapshot)
        case .snapshotResponse(let response): handleSnapshotResponse(from: from, response)
        case .timeoutNow: if isVoter && role != .leader { campaign(transfer: true) }
        }
    }

    /// Proposes a command; returns where it will sit in the log if it commits.
    public mutating func propose(_ command: [UInt8]) throws(RaftError) -> (index: LogIndex, term: Term) {
        try checkCanPropose()
        let index = appendAsLeader(.command(command))
        return (index, term)
    }

    /// Reports that the runtime made the log durable through `index`, whose entry has `term`.
    public mutating func persisted(through index: LogIndex, term entryTerm: Term) {
        guard log.term(at: index) == entryTerm, index > durableIndex else { return }
        durableIndex = index
        if role == .leader { maybeCommit() }
    }

    /// Everything to do since the last call. See `Ready` for the order to do it in.
    public mutating func takeReady() -> Ready {
        if role == .leader && needsBroadcast {
            broadcastAppend()
            needsBroadcast = false
        }
        startReadRoundIfWanted()
        handOutCommitted()
        var hardState = HardState(term: term, votedFor: votedFor, commit: commitIndex)
        if config.brokenVariants.contains(.forgetVote) { hardState.votedFor = nil }
        if hardState != persistedHardState {
            ready.hardState = hardState
            ready.termOrVoteChanged = hardState.term != persistedHardState.term || hardState.votedFor != persistedHardState.votedFor
            persistedHardState = hardState
        }
        defer { ready = Ready() }
        return ready
    }

    /// Forgets log entries through `index`, which the runtime's snapshot now covers.
    public mutating func compact(through index: LogIndex) {
        guard index > log.snapshotIndex, index <= committedHandedOut, let entryTerm = log.term(at: index) else { return }
        let kept = configurationHistory.last { $0.index <= index }!.configuration
        configurationHistory.removeAll { $0.index <= index }
        configurationHistory.insert((index, kept), at: 0)
        log.compact(through: index, term: entryTerm)
    }

    // MARK: - Queries

    /// The snapshot a lagging follower would be sent: the compaction point and its membership.
    public var snapshotMetadata: SnapshotMetadata {
        SnapshotMetadata(index: log.snapshotIndex, term: log.snapshotTerm, configuration: configurationHistory[0].configuration)
    }

    /// Describes a snapshot of the state machine as of the applied `index` (which must still
    /// be in the log or be its start): its term and the membership in effect there. The
    /// runtime sends followers the state at its current applied index, not at the compaction
    /// point, so they need not replay the entries between.
    public func snapshotMetadata(at index: LogIndex) -> SnapshotMetadata? {
        guard index >= log.snapshotIndex, index <= committedHandedOut, let entryTerm = log.term(at: index) else { return nil }
        let configuration = configurationHistory.last { $0.index <= index }!.configuration
        return SnapshotMetadata(index: index, term: entryTerm, configuration: configuration)
    }

    /// A follower's replication position as the leader sees it.
    public func matchIndex(of peer: NodeID) -> LogIndex? {
        peer == id ? durableIndex : progress[peer]?.match
    }

    /// On the leader, the voters it has heard from within the last election timeout, itself
    /// included; nil on any other node, which cannot know.
    public var recentlyHeardVoters: Set<NodeID>? {
        guard role == .leader else { return nil }
        var heard: Set<NodeID> = [id]
        for (peer, peerProgress) in progress {
            if let tick = peerProgress.lastHeardTick, tickCount - tick < config.electionTimeoutTicks { heard.insert(peer) }
        }
        return heard.intersection(configuration.voters)
    }

    /// On the leader, how replication to `peer` stands; nil elsewhere, or for an unknown peer.
    public func replication(of peer: NodeID) -> ReplicationStatus? {
        guard role == .leader, let peerProgress = progress[peer] else { return nil }
        let state: ReplicationStatus.State = switch peerProgress.state {
        case .probe: .probe
        case .replicate: .replicate
        case .snapshot: .snapshot
        }
        return ReplicationStatus(
            match: peerProgress.match, next: peerProgress.next, state: state,
            ticksSinceHeard: peerProgress.lastHeardTick.map { tickCount - $0 }, inflight: peerProgress.inflight.count)
    }

    /// Whether any configuration this node adopted included it (a node still joining has not).
    public var wasMember: Bool { hasBeenMember }

    /// Whether this node has voting rights in the configuration it follows.
    public var isVoter: Bool { configuration.voters.contains(id) }

    // MARK: - Shared helpers

    var inLeaderLease: Bool {
        guard config.checkQuorum, electionElapsed < config.electionTimeoutTicks else { return false }
        // A freshly (re)started node may have acknowledged a leader just before it went down;
        // it waits one election timeout before voting so that leader's lease stays sound.
        return leader != nil || tickCount < config.electionTimeoutTicks
    }

    mutating func resetElectionTimer() {
        electionElapsed = 0
        electionHastened = false
        randomizedElectionTimeout = config.electionTimeoutTicks + Int(random.next() % UInt64(config.electionTimeoutTicks))
    }

    mutating func send(to peer: NodeID, _ message: Message, afterPersist: Bool) {
        var envelope = Envelope(from: id, to: peer, message: message)
        if message.isReply { envelope.correlation = replyCorrelation }
        if case .timeoutNow = message { reads.leaseForfeited = true }
        if afterPersist {
            ready.messages.append(envelope)
        } else {
            ready.eagerMessages.append(envelope)
        }
    }

    mutating func becomeFollower(term newTerm: Term, leader newLeader: NodeID?) {
        let changed = role != .follower || newTerm != term || newLeader != leader
        if newTerm > term {
            term = newTerm
            votedFor = nil
        }
        if role == .leader { failPendingReads(.notLeader(leaderHint: newLeader)) }
        role = .follower
        leader = newLeader
        progress.removeAll()
        transferTarget = nil
        resetElectionTimer()
        if changed { ready.events.append(.roleChanged(.follower, leader: newLeader, term: term)) }
    }

    /// Hands committed entries not yet handed out to the runtime for applying.
    mutating func handOutCommitted() {
        guard commitIndex > committedHandedOut else { return }
        let entries = log.entries(from: committedHandedOut.next, through: commitIndex)
        ready.committed.append(contentsOf: entries)
        if let last = entries.last { committedHandedOut = last.index }
        for entry in entries {
            if case .config = entry.payload, hasBeenMember, !configuration.contains(id), entry.index >= lastConfigurationIndex, !isRemoved {
                isRemoved = true
                if role == .leader {
                    // Hand over rather than leave the cluster an election timeout without a leader.
                    let successor = configuration.voters.max { (progress[$0]?.match ?? 0, $1) < (progress[$1]?.match ?? 0, $0) }
                    if let successor { send(to: successor, .timeoutNow(TimeoutNow(term: term)), afterPersist: false) }
                    becomeFollower(term: term, leader: nil)
                }
                ready.events.append(.removed)
            }
        }
    }

    var lastConfigurationIndex: LogIndex { configurationHistory.last!.index }

    mutating func adoptConfiguration(_ next: Configuration, at index: LogIndex) {
        configurationHistory.append((index, next))
        configuration = next
        if next.contains(id) { hasBeenMember = true }
        ready.events.append(.configurationChanged(next))
        if role == .leader { syncProgressWithConfiguration() }
    }

    /// Reverts configurations introduced by entries at or after `index` (they were truncated).
    mutating func dropConfigurations(from index: LogIndex) {
        let before = configurationHistory.count
        configurationHistory.removeAll { $0.index >= index && $0.index > log.snapshotIndex }
        if configurationHistory.count != before {
            configuration = configurationHistory.last!.configuration
            ready.events.append(.configurationChanged(configuration))
        }
    }
}
