import Dispatch
import GreyMVCC
import GreyRPC
import GreyRaft
import GreyStorage
import GreyWire
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Synchronization
import Tracing

/// The runtime around one Raft core: it feeds the core ticks from a monotonic clock,
/// messages from peers and requests from clients, and performs each `Ready` in the order the
/// core requires — leader appends out at once, the log and hard state fsynced, then replies,
/// then applies. Proposals that arrive while a write is in flight pile up in the core and go
/// out together in the next `Ready`: one fsync for all of them.
///
/// Everything runs on one event loop (`NodeConfiguration.eventLoop`), which is this actor's
/// executor and also serves the node's connections: a request, its replication and its
/// reply never change threads. On these 2-core machines a thread switch costs more than the
/// work it carries (see bench/REPORT.md). The log's fsync runs on that loop too — it blocks
/// the loop for about 0.3 ms, and requests that arrive meanwhile share the next fsync.
public actor GreyNode {
    let configuration: NodeConfiguration
    /// The loop this actor runs on (its executor): see `NodeConfiguration.eventLoop`.
    public nonisolated let eventLoop: any EventLoop
    public nonisolated var unownedExecutor: UnownedSerialExecutor { eventLoop.executor.asUnownedSerialExecutor() }
    /// The node's Prometheus metrics.
    public nonisolated let metrics: NodeMetrics
    /// The core behind the node's monotonic clock: every input reaches it through `core`,
    /// which delivers the ticks due first (see `ClockedRaftNode`).
    var core: ClockedRaftNode
    /// The core, for queries; changes go through `core`.
    var raft: RaftNode { core.raft }
    /// The origin of the clock readings handed to the core.
    private let clockOrigin = ContinuousClock.now
    /// The node's monotonic clock, as the core reads it.
    nonisolated var now: Duration { ContinuousClock.now - clockOrigin }
    let storage: RaftStorage
    /// The state machine: the MVCC store in `storage`.
    let store: MVCCStore
    /// etcd's cluster id: a hash of the founding membership (see `clusterID(founding:)`).
    let clusterID: UInt64
    private let storageQueue = DispatchQueue(label: "grey.storage")
    /// Reads and writes of whole snapshots: long, so kept off the storage queue's writes.
    let snapshotQueue = DispatchQueue(label: "grey.snapshot")
    private var peers: [NodeID: GRPCChannel] = [:]
    private var processing = false
    private var dirty = false
    /// What client calls read without entering the actor, as of the node's last drain. Every
    /// call asks whether this node leads (serve here or forward?), and every answer carries the
    /// term; clients are served on loops of their own (`NodeConfiguration.clientLoops`), where
    /// a hop onto the actor and back costs two thread switches.
    nonisolated let published = NIOLockedValueBox(Published())
    /// Reads from the client loops waiting to be handed to the core (see `awaitReadable`).
    private nonisolated let readArrivals = Arrivals<(lease: Bool, continuation: CheckedContinuation<LogIndex, Error>)>()
    /// Writes from the client loops waiting to be proposed (see `write`).
    private nonisolated let writeArrivals = Arrivals<ArrivedWrite>()

    struct ArrivedWrite: Sendable {
        var command: MVCCCommand
        /// The call's trace and when it arrived, when it is traced.
        var traced: (call: ServiceContext, since: DefaultTracerClock.Instant)?
        var continuation: CheckedContinuation<(MVCCOutcome, ResponseHeader), Error>
    }

    struct Published {
        var leading = false
        var term: UInt64 = 0
        var leader: UInt64?
        /// A snapshot install is replacing the state machine (see `installingSnapshot`).
        var installing = false
        /// This node learned it was removed from the cluster: it serves no more.
        var removed = false
        /// Until when (a reading of `now`) a lease read may be answered from the store at once,
        /// on the caller's loop; nil while it may not (`publishReadState`).
        var leaseReadsUntil: Duration?
        /// The applied index, for the headers of answers given off the node's loop.
        var appliedIndex: UInt64 = 0
    }
    var appliedIndex: LogIndex
    private var proposals: [LogIndex: (term: Term, continuation: CheckedContinuation<(MVCCOutcome, ResponseHeader), Error>)] = [:]
    /// Traced writes this node leads, and traced appends from the leader, by log index
    /// (GreyNode+Tracing).
    var tracedProposals: [LogIndex: TracedProposal] = [:]
    var tracedAppends: [LogIndex: ServiceContext] = [:]
    private var configChanges: [LogIndex: (term: Term, continuation: CheckedContinuation<Void, Error>)] = [:]
    /// Learners that joined to become voters: promoted by the leader once caught up.
    private var promoteWhenCaughtUp: Set<NodeID> = []
    private var readWaiters: [UInt64: CheckedContinuation<LogIndex, Error>] = [:]
    private var confirmedReads: [(index: LogIndex, continuation: CheckedContinuation<LogIndex, Error>)] = []
    private var nextReadID: UInt64 = 1
    /// RPCs from peers waiting for the core's reply, by the correlation their request was
    /// stepped with.
    var replyWaiters: [UInt64: CheckedContinuation<Message, Error>] = [:]
    /// The connection each peer's appends last came on, watched for closing (`watchConnection`).
    var watchedConnections: [NodeID: EventLoopFuture<Void>] = [:]
    /// A graceful shutdown has begun (`handOffLeadership`): connections close now because this
    /// node closes them, which says nothing about its peers.
    var stopping = false
    /// Ids of `replyWaiters`, taken on the callers' loops (`handle`).
    nonisolated let waiterIDs = Atomic<UInt64>(1)
    private var ticker: RepeatedTask?
    /// Set by `halt()`: the node has stopped for good and touches neither storage nor peers.
    private(set) var halted = false
    /// Followers a snapshot is being streamed to (one transfer each at a time).
    var snapshotTransfers: Set<NodeID> = []
    /// A snapshot being received from the leader.
    var incomingSnapshot: IncomingSnapshot?
    /// Received, verified snapshot files the core has been asked to install, by index. Two
    /// transfers can finish close together; each install takes only its own.
    var receivedSnapshots: [LogIndex: (metadata: SnapshotMetadata, path: String)] = [:]
    /// A snapshot is replacing the state machine (in several RocksDB batches): stale reads
    /// wait for it rather than see half of the old state and half of the new. Kept in
    /// `published`, where reads on the client loops look for it.
    nonisolated var installingSnapshot: Bool {
        get { published.withLockedValue { $0.installing } }
        set { published.withLockedValue { $0.installing = newValue } }
    }
    /// Stale reads waiting for an install to finish.
    var waitingForInstall: [CheckedContinuation<Void, Never>] = []
    /// The role as of the last change logged (`RoleLog`).
    private var loggedRole: Role = .follower
    /// Slow synced writes since the last report (`noteWrite`).
    private var slowSyncs = ThrottledReport(every: GreyNode.slowSyncReportInterval)
    /// Stalls of the loop worth a line since the last report (`reportHeldLoop`).
    var heldLoops = ThrottledReport(every: GreyNode.slowSyncReportInterval)
    /// A log compaction is being written.
    var compacting = false
    /// A step of the store's compaction is queued on the loop (`scheduleStoreCompaction`).
    var storeCompactionScheduled = false
    /// When the removal under way began, and the steps it has taken (for the log line at its end).
    var storeCompactionStarted: ContinuousClock.Instant?
    var storeCompactionSteps = 0
    /// When this node last asked the leader whether its removal committed (`checkRemoval`).
    var removalCheckedAt: ContinuousClock.Instant?
    /// The membership as last logged (`logMembership`), and how calls to each peer have gone.
    var loggedConfiguration: GreyRaft.Configuration?
    var peerHealth: [NodeID: PeerHealth] = [:]
    /// When this member last measured its own store against the quota (`checkOwnSpace`).
    var ownSpaceCheckedAt: ContinuousClock.Instant?
    /// The store's size as the space quota last saw it (`checkSpace`).
    var spaceEstimate = SpaceEstimate()
    /// Where the node reports what an operator cares about: role changes, snapshots, slow
    /// disks (greyd: stderr, through `LineLogHandler`). Every line carries the term and leader.
    let logger: Logger

    /// Opens storage and restores the core from it. `bootstrap` is the founding membership
    /// (used only when the data directory has none yet).
    public init(
        configuration: NodeConfiguration, storage: RaftStorage, bootstrap: GreyRaft.Configuration,
        logger: Logger = Logger(label: "grey.node") { _ in SwiftLogNoOpLogHandler() }
    ) throws {
        self.configuration = configuration
        self.eventLoop = configuration.eventLoop
        self.logger = logger
        self.storage = storage
        self.store = MVCCStore(storage: storage)
        self.clusterID = try storage.clusterID() ?? Self.clusterID(founding: (try storage.bootstrapConfiguration()) ?? bootstrap)
        let converted = try store.adoptLegacyState()
        if converted > 0 { logger.info("converted \(converted) keys of the old state machine to the MVCC store (all at revision 2)") }
        var durable = try storage.load()
        if durable.hardState.commit < durable.appliedIndex { durable.appliedIndex = durable.hardState.commit }
        var raftConfig = RaftConfig(id: configuration.id, seed: configuration.seed)
        raftConfig.electionTimeoutTicks = configuration.electionTimeoutTicks
        raftConfig.heartbeatIntervalTicks = configuration.heartbeatIntervalTicks
        raftConfig.maxClockDrift = configuration.maxClockDrift
        #if GREY_BROKEN_VOTE_ANY_LOG
        // The deliberately broken build for the chaos test (`make chaos-broken`): votes are
        // granted without the §5.4.1 check that the candidate's log is up to date.
        raftConfig.brokenVariants.insert(.skipLogUpToDateCheck)
        #endif
        // The clock as it reads now, after the log was loaded (seconds for a long one): the
        // load is no stall of a running loop, and would otherwise be reported as one.
        self.core = ClockedRaftNode(
            RaftNode(config: raftConfig, bootstrap: bootstrap, durable: durable), tickInterval: NodeConfiguration.tick,
            now: ContinuousClock.now - clockOrigin)
        self.appliedIndex = durable.appliedIndex
        self.metrics = NodeMetrics(dataDirectory: configuration.dataDirectory)
        self.loggedConfiguration = core.raft.configuration
    }

    /// An in-process node (tests, the demo) whose lines go to `log`, message alone.
    public init(
        configuration: NodeConfiguration, storage: RaftStorage, bootstrap: GreyRaft.Configuration, log: @escaping @Sendable (String) -> Void
    ) throws {
        let logger = Logger(label: "grey.node") { _ in LineLogHandler(node: configuration.id.rawValue, format: .plain, level: .info, write: log) }
        try self.init(configuration: configuration, storage: storage, bootstrap: bootstrap, logger: logger)
    }

    /// Logs `message` with the term and leader as of the last drain.
    nonisolated func log(_ message: String, level: Logger.Level = .info) {
        let state = published.withLockedValue { $0 }
        logger.log(level: level, "\(message)", metadata: ["term": "\(state.term)", "leader": state.leader.map { "\($0)" } ?? "none"])
    }

    /// Stops the node for good after its storage failed: a node that cannot write its log
    /// must not go on acknowledging anything, and one whose state machine missed a write must
    /// not answer from it. What it had not written was never acknowledged (a write is answered
    /// only after its synced write returns), and a restart replays the log from what is on
    /// disk; a torn last record is dropped (`RocksDB` opens with point-in-time recovery).
    /// Carrying on instead would mean holding the core's every step until the disk has room,
    /// with RocksDB refusing writes in its error state meanwhile: the rest of the cluster does
    /// better without this node, and a restart once there is room is the same recovery.
    nonisolated func storageFailed(_ what: String, _ error: any Error) -> Never {
        let advice = switch StorageTrouble(error) {
        case .diskFull: ". The disk of \(configuration.dataDirectory) is full: free space and start the node again"
        case .damaged: ". Its data is damaged: greyctl repair --data-dir \(configuration.dataDirectory) rebuilds it from the leader with the same id"
        case nil: ""
        }
        let line = "cannot \(what): \(error); stopping, having acknowledged nothing it could not write" + advice
        log(line, level: .critical)
        configuration.onStorageFailure(line)
    }

    /// Starts the timer: on the node's own loop, so a tick costs no thread switch. It only
    /// makes sure ticks are delivered while nothing else happens; any input delivers the ticks
    /// due before it is handled (`ClockedRaftNode`).
    public func start() {
        if (try? store.compactionIsDue()) == true { scheduleStoreCompaction() }  // a removal a restart interrupted
        let interval = TimeAmount(NodeConfiguration.tick)
        ticker = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [weak self] _ in
            self?.assumeIsolated { $0.tick() }
        }
    }

    public func stop() {
        ticker?.cancel()
        ticker = nil
    }

    /// Stops the node as a crash would, but in-process: no more ticks, messages or storage
    /// writes once the write in flight (if any) is done, and every waiting caller is failed.
    /// Its storage can then be opened by a new node (what `cluster-demo` calls a restart).
    public func halt() async {
        stop()
        halted = true
        published.withLockedValue {
            $0.leading = false
            $0.leaseReadsUntil = nil
        }
        while processing { try? await Task.sleep(for: .milliseconds(5)) }
        let unavailable = stoppedStatus
        for (_, proposal) in proposals { proposal.continuation.resume(throwing: unavailable) }
        for (_, change) in configChanges { change.continuation.resume(throwing: unavailable) }
        for (_, waiter) in readWaiters { waiter.resume(throwing: unavailable) }
        for read in confirmedReads { read.continuation.resume(throwing: unavailable) }
        for waiter in replyWaiters.values { waiter.resume(throwing: unavailable) }
        abandonTraces("node \(configuration.id.rawValue) stopped")
        proposals = [:]
        configChanges = [:]
        readWaiters = [:]
        confirmedReads = []
        replyWaiters = [:]
        for channel in peers.values { await channel.close() }
        peers = [:]
    }

    /// For a graceful shutdown: if this node leads, hands leadership to the most caught-up
    /// voter and waits (up to `limit`) until another node leads, so clients see no election
    /// timeout. Returns whether leadership moved (or was never here).
    public func handOffLeadership(within limit: Duration = .seconds(2)) async -> Bool {
        stopping = true
        guard raft.role == .leader else { return true }
        let candidates = raft.configuration.voters.filter { $0 != configuration.id }
        guard let target = candidates.max(by: { (raft.matchIndex(of: $0) ?? 0, $1.rawValue) < (raft.matchIndex(of: $1) ?? 0, $0.rawValue) }) else {
            return false
        }
        do {
            try core.transferLeadership(to: target, at: now)
        } catch {
            return false
        }
        kick()
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
            if raft.role != .leader && raft.leader != nil && raft.leader != configuration.id { return true }
        }
        return false
    }

    /// The timer's turn: deliver the due ticks, then the housekeeping that follows them.
    func tick() {
        let delivered = core.advance(to: now)
        reportHeldLoop()
        guard delivered > 0 else { return }
        if !promoteWhenCaughtUp.isEmpty { promoteCaughtUpLearners() }
        if mayHaveBeenRemoved { checkRemoval() }
        checkOwnSpace()
        kick()
    }

    // MARK: - Status

    /// What `GetClusterStatus` and `/status` report.
    public func status() -> GetClusterStatusResponse {
        let members = raft.configuration.members.sorted().map { id in
            var member = Member(
                id: id.rawValue, address: raft.configuration.addresses[id] ?? "",
                role: raft.configuration.voters.contains(id) ? .voter : .learner,
                state: id == raft.leader ? .leader : (id == configuration.id ? Self.state(raft.role) : .follower),
                matchIndex: raft.matchIndex(of: id)?.rawValue ?? 0, reachable: id == configuration.id || raft.role != .leader || raft.matchIndex(of: id) != nil)
            if let replication = raft.replication(of: id) {
                member.replication = switch replication.state {
                case .probe: .probe
                case .replicate: .replicate
                case .snapshot: .snapshot
                }
                member.nextIndex = replication.next.rawValue
                member.sinceContactMilliseconds = replication.ticksSinceHeard.map { Int64($0) * Int64(NodeConfiguration.tick / .milliseconds(1)) } ?? -1
                member.inflight = UInt32(clamping: replication.inflight)
            }
            return member
        }
        return GetClusterStatusResponse(
            nodeID: configuration.id.rawValue, leaderID: raft.leader?.rawValue ?? 0, term: raft.term.rawValue,
            commitIndex: raft.commitIndex.rawValue, lastLogIndex: raft.log.lastIndex.rawValue, appliedIndex: appliedIndex.rawValue,
            hasLeader: raft.leader != nil, members: members, state: Self.state(raft.role), snapshotIndex: raft.log.snapshotIndex.rawValue)
    }

    static func state(_ role: Role) -> MemberState {
        switch role {
        case .leader: .leader
        case .candidate, .preCandidate: .candidate
        case .follower: .follower
        }
    }

    var header: ResponseHeader {
        ResponseHeader(
            nodeID: configuration.id.rawValue, leaderID: raft.leader?.rawValue ?? 0, hasLeader: raft.leader != nil,
            term: raft.term.rawValue, appliedIndex: appliedIndex.rawValue)
    }

    /// The leader's address, if one is known, it is not us and the link to it is up.
    func leaderAddress() -> String? {
        guard let leader = raft.leader, leader != configuration.id, !isCut(from: leader) else { return nil }
        return raft.configuration.addresses[leader]
    }

    /// Callers waiting on a halted node would wait forever: they are turned away instead.
    func ensureRunning() throws {
        guard !halted else { throw stoppedStatus }
    }

    private var stoppedStatus: GRPCStatus { GRPCStatus(.unavailable, "node \(configuration.id.rawValue) stopped") }

    /// Whether the link between this node and `peer` is cut (only ever in demo clusters).
    func isCut(from peer: NodeID) -> Bool {
        configuration.linkFaults?.isCut(configuration.id, peer) ?? false
    }

    var isLeader: Bool { raft.role == .leader }

    /// `isLeader` as of the last drain, without entering the actor. A routing hint only: a
    /// call served here on a stale "yes" is refused by the core like any call to a non-leader.
    nonisolated var ledAtLastDrain: Bool { published.withLockedValue { $0.leading } }
    /// Whether this node has learned it was removed from the cluster (it serves no more).
    nonisolated var wasRemoved: Bool { published.withLockedValue { $0.removed } }
    /// The Raft term as of the last drain.
    nonisolated var publishedTerm: UInt64 { published.withLockedValue { $0.term } }

    // MARK: - Client operations (on the leader)

    /// Proposes a write and waits until it is applied; returns its outcome and the header.
    /// Runs on the caller's loop: the write joins those gathered for the node's loop to propose
    /// in one job (`Arrivals`), and the caller resumes on its own loop once it is applied.
    nonisolated(nonsending) func write(_ command: MVCCCommand) async throws -> (MVCCOutcome, ResponseHeader) {
        let traced = ServiceContext.current.map { ($0, DefaultTracerClock.now) }
        return try await withCheckedThrowingContinuation { continuation in
            if writeArrivals.add(ArrivedWrite(command: command, traced: traced, continuation: continuation)) {
                eventLoop.execute { self.assumeIsolated { $0.proposeArrivedWrites() } }
            }
        }
    }

    /// Proposes every write gathered since the last time, then drives the core once: the
    /// writes that arrived together leave in one append and share one fsync.
    private func proposeArrivedWrites() {
        for write in writeArrivals.takeAll() {
            let continuation = write.continuation
            do {
                try ensureRunning()
                try checkSpace(for: write.command)
            } catch {
                continuation.resume(throwing: error)
                continue
            }
            guard proposals.count < configuration.maxPendingRequests else {
                metrics.noteProposalFailed()
                continuation.resume(throwing: NodeError.overloaded("writes"))
                continue
            }
            do throws(RaftError) {
                let placed = try core.propose(write.command.encoded(), at: now)
                #if GREY_BROKEN_EARLY_ACK
                // The deliberately broken build for the chaos test's lost-write check
                // (`make chaos-broken`): a put is acknowledged once the leader has proposed it,
                // before any majority has it, so a deposed leader's acknowledged puts vanish.
                if case .put = write.command {
                    continuation.resume(returning: (.put(Etcd.PutResponse()), header))
                    continue
                }
                #endif
                proposals[placed.index] = (placed.term, continuation)
                if let (call, started) = write.traced { traceProposal(at: placed.index, term: placed.term, call: call, since: started) }
            } catch {
                metrics.noteProposalFailed()
                continuation.resume(throwing: NodeError.raft(error))
            }
        }
        kick()
    }

    // MARK: - Membership (on the leader)

    /// Refuses to remove `removed` when the voters left that the leader hears from would not
    /// be a majority of the voters left: the cluster could commit nothing after it, the removal
    /// included. Only the leader knows who it hears from; elsewhere this passes and the change
    /// itself is refused.
    func checkRemovalKeepsQuorum(_ removed: NodeID) throws {
        guard let heard = raft.recentlyHeardVoters else { return }
        let remaining = raft.configuration.voters.subtracting([removed])
        let live = heard.intersection(remaining)
        guard live.count <= remaining.count / 2 else { return }
        throw NodeError.wouldLoseQuorum(removed: removed, live: live.count, remaining: remaining.count)
    }

    /// Proposes a membership change and waits until it is applied (committed).
    func changeMembership(_ change: GreyRaft.ConfigChange) async throws -> [Member] {
        try ensureRunning()
        // Propose, wait and drive in one step (see `write`).
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            do throws(RaftError) {
                let index = try core.proposeConfigChange(change, at: now)
                configChanges[index] = (raft.term, continuation)
                kick()
            } catch {
                continuation.resume(throwing: NodeError.raft(error))
            }
        }
        return status().members
    }

    /// Adds a node as a learner and, unless it should stay one, promotes it once caught up.
    func join(id: NodeID, address: String, asLearner: Bool) async throws -> [Member] {
        if raft.configuration.contains(id) {
            guard raft.configuration.addresses[id] == address else {
                throw GRPCStatus(.alreadyExists, "node id \(id.rawValue) is already a member at \(raft.configuration.addresses[id] ?? "?")")
            }
            return status().members  // a retried join: already in
        }
        let members = try await changeMembership(.addLearner(id, address: address))
        if !asLearner { promoteWhenCaughtUp.insert(id) }
        return members
    }

    /// Leader housekeeping on each tick: promote caught-up learners that asked to vote.
    private func promoteCaughtUpLearners() {
        guard raft.role == .leader else { return }
        for learner in promoteWhenCaughtUp where raft.configuration.learners.contains(learner) {
            guard let match = raft.matchIndex(of: learner), match >= raft.commitIndex else { continue }
            promoteWhenCaughtUp.remove(learner)
            Task { _ = try? await self.changeMembership(.promote(learner)) }
            return  // one change at a time
        }
    }

    func transferLeadership(to target: NodeID) throws {
        do {
            try core.transferLeadership(to: target, at: now)
        } catch {
            throw NodeError.raft(error)
        }
        kick()
    }

    /// Waits until a read at `level` may be served here; returns the index applied by then.
    /// Runs on the caller's loop: the read joins those gathered for the node's loop to register
    /// in one job (`ReadArrivals`), and the caller resumes on its own loop once confirmed.
    nonisolated(nonsending) func awaitReadable(lease: Bool) async throws -> LogIndex {
        guard let traced = ServiceContext.current else { return try await registerRead(lease: lease) }
        // In a traced call: the wait for the leader's confirmation (a ReadIndex round, or the
        // lease) and for the apply to reach it, as one span.
        let span = startSpan(lease ? "lease read" : "read index", context: traced)
        defer { span.end() }
        do {
            let index = try await registerRead(lease: lease)
            span.attributes["grey.index"] = Int(index.rawValue)
            return index
        } catch {
            span.setStatus(SpanStatus(code: .error, message: "\(error)"))
            throw error
        }
    }

    nonisolated(nonsending) private func registerRead(lease: Bool) async throws -> LogIndex {
        try await withCheckedThrowingContinuation { continuation in
            if readArrivals.add((lease, continuation)) {
                eventLoop.execute { self.assumeIsolated { $0.registerArrivedReads() } }
            }
        }
    }

    /// Hands the core every read gathered since the last time, then drives it once: a lease
    /// read is answered by the very next Ready, the others share the next ReadIndex round.
    private func registerArrivedReads() {
        for (lease, continuation) in readArrivals.takeAll() {
            guard !halted else {
                continuation.resume(throwing: stoppedStatus)
                continue
            }
            guard readWaiters.count + confirmedReads.count < configuration.maxPendingRequests else {
                continuation.resume(throwing: NodeError.overloaded("reads"))
                continue
            }
            let id = nextReadID
            nextReadID += 1
            readWaiters[id] = continuation
            core.readIndex(requestID: id, lease: lease, at: now)
        }
        kick()
    }

    /// Reads the state machine, on the caller's thread (a client loop): applies complete before
    /// `appliedIndex` moves, so a read begun once the index a reader waited for is applied sees
    /// every write up to it. The view is taken before the install flag is read: an install sets
    /// the flag before it writes anything, so a view taken while none was under way is whole,
    /// never half the old state and half the new; otherwise the read waits the install out.
    nonisolated(nonsending) func range(_ request: Etcd.RangeRequest) async throws -> Etcd.RangeResponse {
        while true {
            let view = store.view()
            if !installingSnapshot {
                do {
                    return try view.range(request)
                } catch {
                    throw error.status
                }
            }
            await waitForInstall()
        }
    }

    /// Returns once no snapshot install is under way.
    func waitForInstall() async {
        while installingSnapshot { await withCheckedContinuation { waitingForInstall.append($0) } }
    }

    // MARK: - Driving the core

    /// Drives the core at once, in the caller's turn of the loop, for as long as nothing has to
    /// be awaited: heartbeats, acknowledgements, a follower's synced write, commits and applies
    /// happen now rather than after whatever is queued on the loop by then (a task per drain
    /// cost each of them a pass through that queue). Only a Ready that must wait — a leader's
    /// write behind its appends' flushes, a snapshot install — goes on in a task.
    func kick() {
        guard !halted else { return }
        guard !processing else {
            dirty = true
            return
        }
        processing = true
        repeat {
            dirty = false
            if halted { break }
            let ready = core.takeReady()
            publishReadState()
            if ready.isEmpty { continue }
            if Self.mustWait(ready) {
                if ready.snapshot == nil {
                    writeBehindAppends(ready)
                } else {
                    Task { await self.installThenKick(ready) }
                }
                return
            }
            performNow(ready)
        } while dirty
        processing = false
    }

    /// A leader's Ready with entries: its appends go out now, and its own synced write follows
    /// as a job behind their flushes on the loop, so the followers write their copies while this
    /// node writes its own; then the core is driven on. A job, not a task: the task this was
    /// began on Swift's global pool and came back to the loop, one more thread wake-up per write.
    private func writeBehindAppends(_ ready: Ready) {
        for envelope in ready.eagerMessages { dispatch(envelope) }
        eventLoop.execute {
            self.assumeIsolated { node in
                node.persist(ready)
                node.finish(ready)
                node.processing = false
                node.kick()
            }
        }
    }

    /// A Ready with a snapshot to install: the install runs on the storage thread while the
    /// loop goes on serving; then the Ready's writes and messages, and the core is driven on.
    private func installThenKick(_ ready: Ready) async {
        for envelope in ready.eagerMessages { dispatch(envelope) }
        await install(ready.snapshot!.metadata)
        persist(ready)
        finish(ready)
        processing = false
        kick()
    }

    /// Whether driving `ready` has to wait: for a snapshot install, or for a leader's write,
    /// which goes behind its appends' flushes on the loop so the followers write their copies
    /// while this node writes its own.
    private static func mustWait(_ ready: Ready) -> Bool {
        ready.snapshot != nil || (ready.needsPersistence && !ready.eagerMessages.isEmpty)
    }

    private func performNow(_ ready: Ready) {
        for envelope in ready.eagerMessages { dispatch(envelope) }
        persist(ready)
        finish(ready)
    }

    /// Writes what the Ready must have on disk first (a follower's entries, a vote, a term, a
    /// commit-only update), at once on the loop.
    private func persist(_ ready: Ready) {
        guard ready.needsPersistence else { return }
        let traceStarted = tracingEntries ? DefaultTracerClock.now : nil
        do {
            noteWrite(try Self.write(ready, to: storage), of: ready)
        } catch {
            storageFailed("persist the Raft log", error)
        }
        if let traceStarted { traceLogWrite(ready, started: traceStarted) }
        persisted(ready)
    }

    /// Writes a Ready to the log; returns how long it took when it was synced.
    private static func write(_ ready: Ready, to storage: RaftStorage) throws -> Duration? {
        let started = ContinuousClock.now
        try storage.persist(ready)
        return ready.mustSync ? ContinuousClock.now - started : nil
    }

    /// Records a synced write's time, and tells the operator about slow ones: at most one line
    /// every `slowSyncReportInterval`, with how many there were, so a sick disk does not also
    /// flood the log.
    private func noteWrite(_ took: Duration?, of ready: Ready) {
        guard let took else { return }
        metrics.noteSync(took)
        guard took > Self.slowSync else { return }
        slowSyncs.add(took)
        guard let (count, slowest) = slowSyncs.due(at: now) else { return }
        log("slow fsync: \(count) synced log writes over \(Self.slowSync) since the last report, the slowest \(slowest) (this one \(ready.entries.count) entries); check the disk", level: .warning)
    }

    /// A synced write slower than this is worth a line: with greyd's defaults it is two
    /// heartbeat intervals, and most of an election timeout.
    static let slowSync: Duration = .milliseconds(100)
    static let slowSyncReportInterval: Duration = .seconds(10)

    private func persisted(_ ready: Ready) {
        if let last = ready.entries.last {
            core.persisted(through: last.index, term: last.term, at: now)
            dirty = true
        }
    }

    /// What follows the write: messages, applies, reads and events.
    private func finish(_ ready: Ready) {
        for envelope in ready.messages { dispatch(envelope) }
        if !ready.committed.isEmpty {
            apply(ready.committed)
            compactIfDue()
        }
        for read in ready.readStates {
            if let waiter = readWaiters.removeValue(forKey: read.requestID) { confirmedReads.append((read.index, waiter)) }
        }
        // Published first, so the lines logged below carry the term and leader they announce.
        let leadsNow = raft.role == .leader && !halted
        let term = raft.term.rawValue
        let leader = raft.leader?.rawValue
        published.withLockedValue {
            $0.leading = leadsNow
            $0.term = term
            $0.leader = leader
        }
        publishReadState()
        for event in ready.events {
            if case .readFailed(let id, let error) = event { readWaiters.removeValue(forKey: id)?.resume(throwing: NodeError.raft(error)) }
            if case .removed = event { noteRemoved() }
            if case .configurationChanged(let next) = event { logMembership(next) }
            if case .roleChanged(let role, let leader, let term) = event {
                metrics.noteLeader(leader?.rawValue)
                if let line = RoleLog.line(role, leader: leader, term: term, previous: loggedRole) {
                    log(line, level: role == .follower && leader == nil ? .warning : .info)
                }
                loggedRole = role
            }
        }
        serveConfirmedReads()
    }

    private func serveConfirmedReads() {
        let servable = confirmedReads.filter { $0.index <= appliedIndex }
        confirmedReads.removeAll { $0.index <= appliedIndex }
        for read in servable { read.continuation.resume(returning: appliedIndex) }
    }

    /// Applies committed entries to the state machine in one batch with the new applied index
    /// (an unsynced RocksDB write: the log is the durable record), then answers the proposals
    /// waiting for them.
    private func apply(_ entries: [LogEntry]) {
        let outcomes: [MVCCOutcome?]
        let started = ContinuousClock.now
        let traceStarted = tracedProposals.isEmpty ? nil : DefaultTracerClock.now
        do {
            outcomes = try Self.applyBatch(entries, to: store)
            metrics.noteApply(ContinuousClock.now - started)
        } catch {
            storageFailed("apply to the state machine", error)
        }
        appliedIndex = entries.last!.index
        let traceWindow = traceStarted.map { ($0, DefaultTracerClock.now) }
        for (entry, entryOutcome) in zip(entries, outcomes) {
            if let change = configChanges.removeValue(forKey: entry.index) {
                if case .config = entry.payload, entry.term == change.term {
                    change.continuation.resume()
                } else {
                    change.continuation.resume(throwing: NodeError.raft(.dropped))
                }
            }
            guard let proposal = proposals.removeValue(forKey: entry.index) else { continue }
            let outcome = proposal.term == entry.term ? entryOutcome : nil
            // Traced before the reply: once resumed, the call's handler ends its span.
            if let (from, to) = traceWindow, let traced = tracedProposals.removeValue(forKey: entry.index) {
                traceApplied(traced, applied: outcome != nil, from: from, to: to, batch: entries.count)
            }
            if let outcome {
                proposal.continuation.resume(returning: (outcome, header))
            } else {
                metrics.noteProposalFailed()
                proposal.continuation.resume(throwing: NodeError.raft(.dropped))
            }
        }
        // After the replies above: the first step goes to the back of the loop's queue.
        if outcomes.contains(where: { if case .compact? = $0 { true } else { false } }) { scheduleStoreCompaction() }
    }

    /// Applies the commands among `entries` to the store in one batch with the applied index
    /// (later commands see earlier ones); returns each entry's outcome, in order (nil for an
    /// entry that is no command). Arrays, not a dictionary by index: building one per batch
    /// was 3% of a replaying follower's CPU, for outcomes only a leader's proposals read.
    private static func applyBatch(_ entries: [LogEntry], to store: MVCCStore) throws -> [MVCCOutcome?] {
        var positions: [Int] = []
        var commands: [MVCCCommand] = []
        positions.reserveCapacity(entries.count)
        commands.reserveCapacity(entries.count)
        for (position, entry) in entries.enumerated() {
            guard case .command(let bytes) = entry.payload, let command = KVCommand.decode(bytes) else { continue }
            positions.append(position)
            commands.append(command)
        }
        var outcomes = [MVCCOutcome?](repeating: nil, count: entries.count)
        for (position, outcome) in zip(positions, try store.apply(commands, appliedIndex: entries.last!.index)) { outcomes[position] = outcome }
        return outcomes
    }

    /// Sends a request to its peer, or hands a reply to the RPC waiting for it.
    private func dispatch(_ envelope: Envelope) {
        switch envelope.message {
        case .voteResponse, .appendResponse, .snapshotResponse:
            replyWaiters.removeValue(forKey: envelope.correlation)?.resume(returning: envelope.message)
        case .installSnapshot:
            startSnapshotTransfer(to: envelope.to)
        case .requestVote, .appendEntries, .timeoutNow:
            guard let channel = channel(to: envelope.to) else { return }
            let from = configuration.id
            let timeout = configuration.electionTimeout
            let traces: (spans: [any Span], metadata: [(String, String)])
            if !tracedProposals.isEmpty, case .appendEntries(let append) = envelope.message {
                traces = traceReplication(append, to: envelope.to)
            } else {
                traces = ([], [])
            }
            // Started here, synchronously: the request is written before this Ready's own disk
            // write begins, and the reply comes back on this loop without a task.
            Self.call(channel, envelope, from: from, timeout: timeout, on: eventLoop, metadata: traces.metadata).hop(to: eventLoop).whenComplete { result in
                for span in traces.spans {
                    if case .failure(let error) = result { span.setStatus(SpanStatus(code: .error, message: "\(error)")) }
                    span.end()
                }
                self.assumeIsolated { node in
                    switch result {
                    case .success(let reply):
                        node.notePeerCall(envelope.to, failure: nil)
                        if let reply { node.receive(Envelope(from: envelope.to, to: from, message: reply)) }
                    case .failure(let error):
                        node.notePeerCall(envelope.to, failure: error)
                    }
                }
            }
        }
    }

    /// The channel to a peer; nil when its address is unknown or the link to it is cut.
    func channel(to peer: NodeID) -> GRPCChannel? {
        guard !halted, !isCut(from: peer) else { return nil }
        if let channel = peers[peer] { return channel }
        guard let address = raft.configuration.addresses[peer], let channel = try? configuration.channel(to: address, on: eventLoop, writeAtOnce: true) else { return nil }
        peers[peer] = channel
        return channel
    }

    private static func call(
        _ channel: GRPCChannel, _ envelope: Envelope, from: NodeID, timeout: Duration, on loop: any EventLoop, metadata: [(String, String)]
    ) -> EventLoopFuture<Message?> {
        switch envelope.message {
        case .requestVote(let request):
            return channel.callFuture(ClusterMethods.requestVote, RaftWireMapping.requestVote(request, from: from), timeout: timeout)
                .map { .voteResponse(RaftWireMapping.voteResponse($0)) }
        case .appendEntries(let append):
            return channel.callFuture(ClusterMethods.appendEntries, RaftWireMapping.appendEntries(append, from: from), timeout: timeout * 4, metadata: metadata)
                .map { .appendResponse(RaftWireMapping.appendResponse($0)) }
        case .timeoutNow(let request):
            return channel.callFuture(ClusterMethods.timeoutNow, TimeoutNowRequest(term: request.term.rawValue, leaderID: from.rawValue), timeout: timeout)
                .map { _ in nil }
        default:
            return loop.makeSucceededFuture(Message?.none)  // snapshots travel by SnapshotSender, not as one message
        }
    }

    /// Long storage work (compaction, snapshots) on a thread of its own.
    func onStorage<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await storageQueue.run(work)
    }
}

/// Failures a client of the node can see.
enum NodeError: Error, GRPCStatusConvertible {
    case raft(RaftError)
    case noLeader
    /// Too many requests of this kind already wait on the node.
    case overloaded(String)
    /// A removal that would leave fewer than a majority of the remaining voters reachable.
    case wouldLoseQuorum(removed: NodeID, live: Int, remaining: Int)

    var grpcStatus: GRPCStatus {
        switch self {
        case .raft(.notLeader), .noLeader: GRPCStatus(.unavailable, "no leader available")
        case .overloaded(let what): GRPCStatus(.resourceExhausted, "too many \(what) waiting on this node; retry shortly")
        case .wouldLoseQuorum(let removed, let live, let remaining):
            GRPCStatus(.failedPrecondition, "removing node \(removed.rawValue) would leave \(live) of \(remaining) voters reachable from the leader, not a majority: the cluster could commit nothing after it (--force removes it anyway)")
        case .raft(.quorumUnavailable): GRPCStatus(.unavailable, "quorum not available")
        case .raft(.transferInProgress): GRPCStatus(.unavailable, "leadership transfer in progress")
        case .raft(.dropped): GRPCStatus(.unavailable, "write dropped by a leader change; it was not applied")
        case .raft(.invalidConfigChange(let reason)) where reason.hasPrefix("no such member"): GRPCStatus(.notFound, reason)
        case .raft(let error): GRPCStatus(.failedPrecondition, error.description)
        }
    }
}

