/// A `RaftNode` behind a monotonic clock: the one way a runtime (GreyNode, the simulation)
/// hands the core its inputs. Every input first delivers the ticks the clock says are due.
///
/// Why: leases are counted in ticks. A runtime that ticks only from a timer can, after a stall
/// (SIGSTOP, a long fsync on the loop, a paused VM), hand the core a read or a message that
/// waited in a socket before the timer has caught up: a deposed leader would judge its lease
/// by a stale tick count and serve a stale read. Here the rule cannot be skipped: the core is
/// only reachable through these methods. The ticks of a stall count for the clock, not as the
/// others' silence (`listeningTicksPerCatchUp`): what they sent meanwhile is still in the sockets.
///
/// Time is a `Duration` since any fixed origin on the runtime's monotonic clock; it must not
/// go backwards. The clock's rate may differ from other nodes' by at most the configured
/// drift (`RaftConfig.maxClockDrift`), which the lease allows for.
public struct ClockedRaftNode: Sendable {
    /// The core, for queries. Mutating it directly would bypass the tick rule.
    public private(set) var raft: RaftNode
    /// How much clock time one tick stands for.
    public let tickInterval: Duration
    /// The clock reading at which the next tick is due.
    private var nextTickAt: Duration
    /// Ticks delivered since the start, for tests and metrics.
    public private(set) var ticksDelivered = 0
    /// Stalls since the runtime last took them (`takeStalls`): how many, and how long the
    /// loop went without ticking in each.
    private var stalls: [Duration] = []

    public init(_ raft: RaftNode, tickInterval: Duration, now: Duration) {
        precondition(tickInterval > .zero, "a tick must last some time")
        self.raft = raft
        self.tickInterval = tickInterval
        self.nextTickAt = now + tickInterval
    }

    /// At most this many ticks are delivered for one stall. Longer stalls have the same
    /// effect as this one: every lease has run out, and there is no point in more.
    var maxCatchUpTicks: Int { 4 * raft.config.electionTimeoutTicks }

    /// Of the ticks one catch-up delivers, this many count as time the node listened; the
    /// rest are ticks `whileStalled` (`RaftNode.tick(whileStalled:)`). A timer that fires a
    /// tick or two late on a busy loop is not a stall; a loop held for 300 ms by an fsync is.
    static let listeningTicksPerCatchUp = 3

    /// Delivers every tick due by `now`; returns how many. The runtime's timer calls this,
    /// and so does every other input below.
    @discardableResult
    public mutating func advance(to now: Duration) -> Int {
        guard now >= nextTickAt else { return 0 }
        let due = Int((now - nextTickAt) / tickInterval) + 1
        let delivered = min(due, maxCatchUpTicks)
        let listening = min(delivered, Self.listeningTicksPerCatchUp)
        for _ in listening..<delivered { raft.tick(whileStalled: true) }
        for _ in 0..<listening { raft.tick() }
        if due > Self.listeningTicksPerCatchUp, stalls.count < Self.maxStallsKept {
            // Since the last tick that was due: the tick before it was delivered on time, or
            // it would have been part of this catch-up.
            stalls.append(now - (nextTickAt - tickInterval))
        }
        nextTickAt += tickInterval * due
        ticksDelivered += delivered
        return delivered
    }

    /// The stalls seen since the last call, oldest first, each as how long the loop went
    /// without a tick: a catch-up of more ticks than count as listening time. The core says
    /// nothing about them; a runtime reports them (a long fsync, a paused process or VM, a
    /// starved CPU are otherwise invisible).
    public mutating func takeStalls() -> [Duration] {
        defer { stalls = [] }
        return stalls
    }

    /// A runtime that never takes its stalls keeps this many.
    static let maxStallsKept = 64

    /// The clock reading at which this leader's lease ends — when the tick that ends it is
    /// due — or nil when it holds none. Another thread can judge the lease against the clock
    /// with it, ticks a busy or stalled loop has not delivered yet included: it never holds
    /// longer than the core would let it.
    public var leaseExpiry: Duration? {
        guard let end = raft.leaseEndTick else { return nil }
        return nextTickAt + tickInterval * (end - raft.tickCount - 1)
    }

    /// Delivers the ticks due before an input (what every input method below does first).
    private mutating func catchUp(to now: Duration) {
        guard !raft.config.brokenVariants.contains(.inputBeforeTicks) else { return }
        advance(to: now)
    }

    /// `RaftNode.step(_:)`, after the due ticks.
    public mutating func step(_ envelope: Envelope, at now: Duration) {
        catchUp(to: now)
        raft.step(envelope)
    }

    /// `RaftNode.propose(_:)`, after the due ticks.
    public mutating func propose(_ command: [UInt8], at now: Duration) throws(RaftError) -> (index: LogIndex, term: Term) {
        catchUp(to: now)
        return try raft.propose(command)
    }

    /// `RaftNode.proposeConfigChange(_:)`, after the due ticks.
    public mutating func proposeConfigChange(_ change: ConfigChange, at now: Duration) throws(RaftError) -> LogIndex {
        catchUp(to: now)
        return try raft.proposeConfigChange(change)
    }

    /// `RaftNode.readIndex(requestID:lease:)`, after the due ticks: a lease is judged by the
    /// clock as it reads now, never by a tick count from before a stall.
    public mutating func readIndex(requestID: UInt64, lease: Bool, at now: Duration) {
        catchUp(to: now)
        raft.readIndex(requestID: requestID, lease: lease)
    }

    /// `RaftNode.transferLeadership(to:)`, after the due ticks.
    public mutating func transferLeadership(to target: NodeID, at now: Duration) throws(RaftError) {
        catchUp(to: now)
        try raft.transferLeadership(to: target)
    }

    /// `RaftNode.persisted(through:term:)`, after the due ticks (a commit it causes can
    /// release reads that wait for one, and those may be lease reads).
    public mutating func persisted(through index: LogIndex, term: Term, at now: Duration) {
        catchUp(to: now)
        raft.persisted(through: index, term: term)
    }

    /// `RaftNode.peerMayBeDown(_:)`, after the due ticks.
    @discardableResult
    public mutating func peerMayBeDown(_ peer: NodeID, at now: Duration) -> Int? {
        catchUp(to: now)
        return raft.peerMayBeDown(peer)
    }

    /// `RaftNode.compact(through:)`: no clock involved.
    public mutating func compact(through index: LogIndex) {
        raft.compact(through: index)
    }

    /// `RaftNode.takeReady()`: an output, no clock involved.
    public mutating func takeReady() -> Ready {
        raft.takeReady()
    }
}
