import Testing

@testable import GreyRaft

/// The runtime's tick rule: every input reaches the core after the ticks its clock says are due.
@Suite("ClockedRaftNode: ticks before inputs")
struct ClockedRaftNodeTests {
    static let tick: Duration = .milliseconds(10)

    /// Node 0 of `LeaseTests.cluster()` behind a clock, holding a fresh lease at time `start`.
    static func leaderWithLease(start: Duration, broken: BrokenVariants = []) -> (ClockedRaftNode, [RaftNode]) {
        var nodes = LeaseTests.cluster(broken: broken)
        LeaseTests.renewLease(&nodes)
        return (ClockedRaftNode(nodes[0], tickInterval: tick, now: start), nodes)
    }

    @Test("a lease read after a stall is judged by the clock, not by the ticks the timer managed to deliver")
    func leaseReadAfterStall() {
        let start: Duration = .seconds(100)
        var (leader, _) = Self.leaderWithLease(start: start)
        leader.readIndex(requestID: 1, lease: true, at: start + .milliseconds(5))
        #expect(leader.takeReady().readStates.map(\.requestID) == [1], "within the lease: served at once")
        // The process was stopped for 200 ms; the timer has not fired yet when a read that
        // waited in the socket is handled. RaftNode alone would still count the old tick.
        leader.readIndex(requestID: 2, lease: true, at: start + .milliseconds(205))
        #expect(leader.takeReady().readStates.isEmpty, "the lease ran out during the stall")
        #expect(leader.ticksDelivered == 20)
    }

    @Test("the lease's expiry on the clock is exactly when the core stops serving lease reads (what client loops judge the lease by)")
    func leaseExpiryMatchesCore() throws {
        let start: Duration = .seconds(100)
        var (leader, _) = Self.leaderWithLease(start: start)
        let expiry = try #require(leader.leaseExpiry)
        #expect(expiry > start && expiry <= start + Self.tick * leader.raft.config.leaseTicks)
        var served: [Bool] = []
        var expected: [Bool] = []
        for millisecond in stride(from: 0, through: 150, by: 1) {
            let now = start + .milliseconds(millisecond)
            leader.readIndex(requestID: UInt64(millisecond + 1), lease: true, at: now)
            served.append(!leader.takeReady().readStates.isEmpty)
            expected.append(now < expiry)
        }
        #expect(served == expected)
        #expect(served.contains(true) && served.contains(false))
        #expect(leader.leaseExpiry == nil, "no lease left to publish")
    }

    @Test("a leader that sent TimeoutNow publishes no lease expiry, before the message leaves")
    func noLeaseExpiryAfterTimeoutNow() throws {
        let start: Duration = .seconds(100)
        var (leader, _) = Self.leaderWithLease(start: start)
        #expect(leader.leaseExpiry != nil)
        try leader.transferLeadership(to: 1, at: start + .milliseconds(1))
        #expect(leader.leaseExpiry == nil)
        #expect(leader.takeReady().eagerMessages.contains { if case .timeoutNow = $0.message { true } else { false } })
    }

    @Test("the broken variant (input first, ticks later) serves that read from an expired lease")
    func inputBeforeTicksServesExpiredLease() {
        let start: Duration = .seconds(100)
        var (leader, _) = Self.leaderWithLease(start: start, broken: .inputBeforeTicks)
        leader.readIndex(requestID: 2, lease: true, at: start + .milliseconds(205))
        #expect(leader.takeReady().readStates.map(\.requestID) == [2], "the stale read this rule exists to refuse")
    }

    @Test("a leader stalled past its election timeout keeps leading on the ticks it missed — its lease is gone — and steps down after live silence, as check-quorum always has")
    func stalledLeaderJudgesSilenceByLiveTicks() {
        let start: Duration = .seconds(5)
        var (leader, nodes) = Self.leaderWithLease(start: start)
        // Its loop was held 400 ms (an fsync on a stalled disk); the first input after it is a
        // stale reply from node 1. The followers' acknowledgements may still be in the sockets.
        let vote = Envelope(from: 1, to: 0, message: .voteResponse(VoteResponse(term: nodes[1].term, granted: false, preVote: true)))
        leader.step(vote, at: start + .milliseconds(400))
        #expect(leader.raft.role == .leader, "the stall is no news of the followers")
        #expect(leader.leaseExpiry == nil, "but the lease counted the whole 400 ms")
        leader.readIndex(requestID: 9, lease: true, at: start + .milliseconds(401))
        #expect(leader.takeReady().readStates.isEmpty, "a lease read waits for a quorum round")
        // Live ticks with no answer: check-quorum runs as before (the acknowledgements from
        // before the stall count for the window they fell in, so two windows at most).
        var now = start + .milliseconds(400)
        for _ in 0..<2 * nodes[0].config.electionTimeoutTicks {
            now += Self.tick
            leader.advance(to: now)
        }
        #expect(leader.raft.role != .leader, "two check-quorum windows of live ticks without a majority")
    }

    @Test("a follower stalled past its election timeout handles the heartbeat that waited in its socket instead of campaigning on the ticks it missed")
    func stalledFollowerDoesNotCampaign() {
        let start: Duration = .seconds(5)
        var nodes = LeaseTests.cluster()
        LeaseTests.renewLease(&nodes)
        var follower = ClockedRaftNode(nodes[1], tickInterval: Self.tick, now: start)
        nodes[0].tick()
        let heartbeat = nodes[0].takeReady().eagerMessages.first { $0.to == 1 }!
        follower.step(heartbeat, at: start + .milliseconds(400))
        let ready = follower.takeReady()
        #expect(follower.raft.role == .follower && follower.raft.leader == 0)
        #expect(!ready.messages.contains { if case .requestVote = $0.message { true } else { false } }, "no campaign")
        #expect(follower.ticksDelivered == 40, "the clock still counted the stall")
        // The same 400 ms counted as silence, tick by tick, starts an election.
        var counting = nodes[1]
        for _ in 0..<40 { counting.tick() }
        #expect(counting.role != .follower, "without the rule the stall starts an election")
    }

    @Test("ticks are due on the interval; one stall delivers at most four election timeouts of them")
    func catchUpIsBounded() {
        var node = ClockedRaftNode(RaftNodeTests.node(1), tickInterval: Self.tick, now: .zero)
        #expect(node.advance(to: .milliseconds(9)) == 0)
        #expect(node.advance(to: .milliseconds(10)) == 1)
        #expect(node.advance(to: .milliseconds(35)) == 2)
        #expect(node.advance(to: .milliseconds(39)) == 0)
        #expect(node.advance(to: .seconds(60)) == 40, "a minute's stall: 4 × the 10-tick election timeout")
        #expect(node.advance(to: .seconds(60) + .milliseconds(10)) == 1, "and the schedule resumes from the clock")
    }

    @Test("a catch-up of more ticks than count as listening time is a stall, reported once with how long the loop went without a tick; a late tick or two is not")
    func stallsAreReported() {
        var node = ClockedRaftNode(RaftNodeTests.node(1), tickInterval: Self.tick, now: .zero)
        node.advance(to: .milliseconds(10))
        node.advance(to: .milliseconds(45))  // three ticks at once: a busy loop, not a stall
        #expect(node.takeStalls().isEmpty)
        node.advance(to: .milliseconds(449))  // the tick due at 50 ms came 399 ms late
        #expect(node.takeStalls() == [.milliseconds(409)], "held since the tick due at 40 ms")
        #expect(node.takeStalls().isEmpty, "taken once")
        node.advance(to: .seconds(60))
        node.advance(to: .seconds(61))
        #expect(node.takeStalls().count == 2, "each stall on its own, however long")
    }
}
