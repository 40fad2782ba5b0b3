import Testing

@testable import GreyRaft

/// Leader leases (§6.4): when a lease read may skip the quorum round, and when it must not.
@Suite("leader leases")
struct LeaseTests {
    static func cluster(drift: Double = 0, broken: BrokenVariants = []) -> [RaftNode] {
        var nodes = (0..<3).map { id -> RaftNode in
            var config = RaftConfig(id: NodeID(UInt64(id)), seed: 7)
            config.preVote = false
            config.maxClockDrift = drift
            config.brokenVariants = broken
            return RaftNode(config: config, bootstrap: RaftNodeTests.three)
        }
        for _ in 0..<10 { nodes[1].tick(); nodes[2].tick() }  // past the startup vote guard
        nodes[0].campaign(transfer: true)
        deliver(nodes[0].takeReady(), in: &nodes)
        return nodes
    }

    /// Delivers a Ready's messages (among `only` if given) and everything they cause,
    /// persisting as it goes; messages from or to nodes outside `only` are dropped. Returns the
    /// reads node 0 was told it may serve meanwhile.
    @discardableResult
    static func deliver(_ first: Ready, from sender: Int = 0, in nodes: inout [RaftNode], only: Set<Int> = [0, 1, 2]) -> [ReadState] {
        var queue = first.eagerMessages + first.messages
        var reads: [ReadState] = []
        if let last = first.entries.last { nodes[sender].persisted(through: last.index, term: last.term) }
        while !queue.isEmpty {
            let envelope = queue.removeFirst()
            let to = Int(envelope.to.rawValue)
            guard only.contains(to), only.contains(Int(envelope.from.rawValue)) else { continue }
            nodes[to].step(envelope)
            let ready = nodes[to].takeReady()
            if let last = ready.entries.last { nodes[to].persisted(through: last.index, term: last.term) }
            let more = nodes[to].takeReady()
            if to == 0 { reads += ready.readStates + more.readStates }
            queue += ready.eagerMessages + ready.messages + more.eagerMessages
        }
        return reads
    }

    /// One heartbeat round from the leader, echoed by the followers in `only`: a fresh lease.
    static func renewLease(_ nodes: inout [RaftNode], only: Set<Int> = [0, 1, 2]) {
        nodes[0].tick()
        deliver(nodes[0].takeReady(), in: &nodes, only: only)
    }

    /// Whether a lease read on node 0 is answered at once (from the lease) or not; the Ready
    /// (with the quorum round such a read asks for) is kept in `lastReady`.
    static func servedOnLease(_ nodes: inout [RaftNode], requestID: UInt64, lastReady: inout Ready) -> Bool {
        nodes[0].readIndex(requestID: requestID, lease: true)
        lastReady = nodes[0].takeReady()
        return lastReady.readStates.contains { $0.requestID == requestID }
    }

    static func servedOnLease(_ nodes: inout [RaftNode], requestID: UInt64) -> Bool {
        var ready = Ready()
        return servedOnLease(&nodes, requestID: requestID, lastReady: &ready)
    }

    /// Ticks every node `times` times with node 0 cut off: nodes 1 and 2 hear each other, and
    /// what node 0 sends is lost.
    static func tickApart(_ nodes: inout [RaftNode], times: Int) {
        for _ in 0..<times {
            for index in 1...2 {
                nodes[index].tick()
                deliver(nodes[index].takeReady(), from: index, in: &nodes, only: [1, 2])
            }
            nodes[0].tick()
            _ = nodes[0].takeReady()
        }
    }

    @Test("a transfer's target wins without the old leader, whose lease reads stop the moment it sent TimeoutNow")
    func noLeaseAfterTimeoutNow() throws {
        for broken in [BrokenVariants(), .leaseDuringTransfer] {
            var nodes = Self.cluster(broken: broken)
            Self.renewLease(&nodes)
            #expect(Self.servedOnLease(&nodes, requestID: 1), "a fresh lease serves reads")
            let before = nodes[0].commitIndex
            // The transfer: TimeoutNow to node 1, which campaigns (no pre-vote, no stickiness)
            // and wins with node 2; node 0 hears nothing of it (cut off from both).
            try nodes[0].transferLeadership(to: 1)
            let sent = nodes[0].takeReady().eagerMessages
            let timeoutNow = try #require(sent.first { if case .timeoutNow = $0.message { $0.to == 1 } else { false } })
            nodes[1].step(timeoutNow)
            Self.deliver(nodes[1].takeReady(), from: 1, in: &nodes, only: [1, 2])
            #expect(nodes[1].role == .leader && nodes[1].term == 2)
            _ = try nodes[1].propose([42])
            Self.deliver(nodes[1].takeReady(), from: 1, in: &nodes, only: [1, 2])
            #expect(nodes[1].commitIndex > before, "the new leader acknowledged a write")
            // Node 0 still thinks it leads term 1, well inside its old lease.
            #expect(nodes[0].role == .leader && nodes[0].term == 1)
            let served = Self.servedOnLease(&nodes, requestID: 2)
            if broken.isEmpty {
                #expect(!served, "a lease read after TimeoutNow would miss the new leader's write")
            } else {
                #expect(served, "the broken variant serves the stale read (this test can tell)")
            }
        }
    }

    @Test("a closed connection is only a hint: nobody is elected while the cut-off leader's lease holds (the broken variant, which trusts it, elects at once and the old leader serves a stale read)")
    func closedConnectionIsOnlyAHint() throws {
        for broken in [BrokenVariants(), .trustClosedConnection] {
            var nodes = Self.cluster(broken: broken)
            Self.renewLease(&nodes)
            let before = nodes[0].commitIndex
            // Node 0 is cut off by a firewall that resets its connections: nodes 1 and 2 see
            // them close, though node 0 runs on and leads term 1 as far as it knows.
            #expect(nodes[1].peerMayBeDown(0) != nil && nodes[2].peerMayBeDown(0) != nil)
            let hinted = [nodes[1].takeReady(), nodes[2].takeReady()]
            for (offset, ready) in hinted.enumerated() { Self.deliver(ready, from: offset + 1, in: &nodes, only: [1, 2]) }
            // Eight ticks pass everywhere: node 0's lease (9 ticks from the round) still holds.
            Self.tickApart(&nodes, times: 8)
            let newLeader = (1...2).first { nodes[$0].role == .leader }
            if let newLeader {
                _ = try nodes[newLeader].propose([42])
                Self.deliver(nodes[newLeader].takeReady(), from: newLeader, in: &nodes, only: [1, 2])
            }
            let written = (1...2).contains { nodes[$0].commitIndex > before + 1 }
            let served = Self.servedOnLease(&nodes, requestID: 1)
            if broken.isEmpty {
                #expect(newLeader == nil && !written, "no leader and no write while the old lease holds")
                #expect(served, "the old leader's lease is sound: nothing was written behind it")
                // Past the election timeout node 1 (first by id) takes over, and no lease is left.
                Self.tickApart(&nodes, times: 3)
                #expect(nodes[1].role == .leader && nodes[1].term == 2)
                #expect(!Self.servedOnLease(&nodes, requestID: 2))
            } else {
                #expect(newLeader != nil && written && served, "the broken variant serves a read that misses an acknowledged write (this test can tell)")
            }
        }
    }

    @Test("the lease stays forfeited for the term after a transfer times out, however fresh the round")
    func noLeaseAfterTransferTimedOut() throws {
        var nodes = Self.cluster()
        Self.renewLease(&nodes)
        try nodes[0].transferLeadership(to: 1)
        _ = nodes[0].takeReady()
        // Node 1 is cut off, so every TimeoutNow is lost (one may yet arrive, late); node 2
        // answers, so node 0 keeps leading, and its transfer times out.
        for _ in 0..<12 { Self.renewLease(&nodes, only: [0, 2]) }
        #expect(nodes[0].role == .leader && nodes[0].transferTarget == nil)
        var round = Ready()
        #expect(!Self.servedOnLease(&nodes, requestID: 1, lastReady: &round))
        // A ReadIndex round still serves it: reads are slower, never wrong.
        #expect(Self.deliver(round, in: &nodes, only: [0, 2]).map(\.requestID) == [1], "the read was confirmed by a quorum round")
    }

    @Test("lease length: one tick short of the election timeout, divided by 1 + the clock-drift bound", arguments: [
        (10, 0.0, 9), (10, 0.05, 8), (10, 0.125, 8), (10, 0.5, 6), (15, 0.05, 13), (15, 0.0, 14), (2, 1.0, 0), (1, 0.0, 0),
    ])
    func leaseTicks(electionTimeout: Int, drift: Double, expected: Int) {
        var config = RaftConfig(id: 0, seed: 1)
        config.electionTimeoutTicks = electionTimeout
        config.maxClockDrift = drift
        #expect(config.leaseTicks == expected)
    }

    @Test("a lease ends leaseTicks after its round was sent; with drift it ends sooner")
    func leaseEndsOnTime() {
        for (drift, lastServedTick) in [(0.0, 8), (0.25, 6)] {  // leaseTicks 9 and 7
            var nodes = Self.cluster(drift: drift)
            nodes[0].tick()
            let round = nodes[0].takeReady()  // the round is sent at this tick; its echoes come later
            Self.deliver(round, in: &nodes)
            var served: [Int] = []
            for elapsed in 0..<12 {
                if Self.servedOnLease(&nodes, requestID: UInt64(100 + elapsed)) { served.append(elapsed) }
                nodes[0].tick()
                _ = nodes[0].takeReady()  // heartbeats and read rounds go unanswered: no fresher lease
            }
            #expect(served == Array(0...lastServedTick), "drift \(drift)")
        }
    }

    @Test("a drift bound that leaves no lease: lease reads wait for a quorum round")
    func noLeaseLeft() {
        var nodes = Self.cluster(drift: 9.0)  // (10 - 1) / 10 < 1 tick
        Self.renewLease(&nodes)
        var round = Ready()
        #expect(!Self.servedOnLease(&nodes, requestID: 1, lastReady: &round))
        #expect(Self.deliver(round, in: &nodes).map(\.requestID) == [1])
    }
}
