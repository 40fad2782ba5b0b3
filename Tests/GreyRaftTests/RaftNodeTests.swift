import Testing

@testable import GreyRaft

/// Handler-level tests: one input, the exact directives that must come out.
@Suite("RaftNode directives")
struct RaftNodeTests {
    static let three = Configuration(voters: [0, 1, 2])

    static func node(_ id: NodeID, _ configuration: Configuration = three, preVote: Bool = true) -> RaftNode {
        var config = RaftConfig(id: id, seed: 7)
        config.preVote = preVote
        return RaftNode(config: config, bootstrap: configuration)
    }

    /// Elects node 0 among three by hand-delivering messages; returns all three.
    static func electedCluster() -> [RaftNode] {
        var nodes = [node(0, preVote: false), node(1, preVote: false), node(2, preVote: false)]
        for _ in 0..<10 { nodes[1].tick(); nodes[2].tick() }  // past the startup vote guard
        nodes[0].campaign(transfer: true)
        var queue = nodes[0].takeReady().messages
        while !queue.isEmpty {
            let envelope = queue.removeFirst()
            let to = Int(envelope.to.rawValue)
            nodes[to].step(envelope)
            let ready = nodes[to].takeReady()
            if let last = ready.entries.last { nodes[to].persisted(through: last.index, term: last.term) }
            queue += ready.eagerMessages + ready.messages
            queue += nodes[to].takeReady().eagerMessages
        }
        return nodes
    }

    @Test("a granted vote is made durable before the reply may leave")
    func voteIsPersistedBeforeReply() {
        var voter = Self.node(1)
        for _ in 0..<10 { voter.tick() }
        voter.step(Envelope(from: 2, to: 1, message: .requestVote(RequestVote(term: 1, lastLogIndex: 0, lastLogTerm: 0, preVote: false, leadershipTransfer: false))))
        let ready = voter.takeReady()
        #expect(ready.hardState == HardState(term: 1, votedFor: 2, commit: 0))
        #expect(ready.eagerMessages.isEmpty)
        #expect(ready.messages == [Envelope(from: 1, to: 2, message: .voteResponse(VoteResponse(term: 1, granted: true, preVote: false)))])
    }

    @Test("each reply carries its request's correlation, though replies leave out of request order")
    func repliesCarryCorrelation() {
        var voter = Self.node(1)
        for _ in 0..<10 { voter.tick() }
        // A real vote (its reply waits for the disk), then a pre-vote (its reply leaves at once).
        voter.step(Envelope(from: 2, to: 1, message: .requestVote(RequestVote(term: 1, lastLogIndex: 0, lastLogTerm: 0, preVote: false, leadershipTransfer: false)), correlation: 5))
        voter.step(Envelope(from: 0, to: 1, message: .requestVote(RequestVote(term: 2, lastLogIndex: 0, lastLogTerm: 0, preVote: true, leadershipTransfer: false)), correlation: 6))
        let ready = voter.takeReady()
        #expect(ready.eagerMessages.map(\.correlation) == [6], "the pre-vote answer leaves first, tagged for its own caller")
        #expect(ready.messages.map(\.correlation) == [5], "the vote answer, after the write, tagged for the vote's caller")
        // What the node sends of its own accord is untagged.
        var candidate = Self.node(0)
        candidate.campaign(transfer: false)
        #expect(candidate.takeReady().eagerMessages.allSatisfy { $0.correlation == 0 })
    }

    @Test("a commit that moves with nothing new to send reaches followers at the next tick")
    func commitAnnouncedAtNextTick() throws {
        var nodes = Self.electedCluster()
        let placed = try nodes[0].propose([7])
        let appends = nodes[0].takeReady()
        nodes[0].persisted(through: placed.index, term: placed.term)
        for append in appends.eagerMessages where append.to == 1 {
            nodes[1].step(append)
            let ready = nodes[1].takeReady()
            nodes[1].persisted(through: placed.index, term: placed.term)
            for reply in ready.messages { nodes[0].step(reply) }
        }
        #expect(nodes[0].commitIndex == placed.index)
        #expect(nodes[0].takeReady().eagerMessages.isEmpty, "no message just to announce the commit")
        nodes[0].tick()
        let announced = nodes[0].takeReady().eagerMessages.compactMap { envelope -> LogIndex? in
            if case .appendEntries(let append) = envelope.message, envelope.to == 1 { return append.leaderCommit } else { return nil }
        }
        #expect(announced == [placed.index])
    }

    @Test("a vote must be synced; a commit index that moved alone need not be")
    func syncRules() throws {
        var nodes = Self.electedCluster()
        var voter = Self.node(1)
        for _ in 0..<10 { voter.tick() }
        voter.step(Envelope(from: 2, to: 1, message: .requestVote(RequestVote(term: 1, lastLogIndex: 0, lastLogTerm: 0, preVote: false, leadershipTransfer: false))))
        #expect(voter.takeReady().mustSync)
        // Follower n1 learns a new commit index from a heartbeat, with no new entries.
        let placed = try nodes[0].propose([9])
        let appends = nodes[0].takeReady().eagerMessages.filter { $0.to == 1 }
        for append in appends { nodes[1].step(append) }
        let withEntry = nodes[1].takeReady()
        #expect(withEntry.mustSync && withEntry.entries.map(\.index) == [placed.index])
        nodes[1].step(Envelope(from: 0, to: 1, message: .appendEntries(AppendEntries(
            term: nodes[0].term, prevLogIndex: placed.index, prevLogTerm: placed.term, entries: [], leaderCommit: placed.index, readContext: 0))))
        let commitOnly = nodes[1].takeReady()
        #expect(commitOnly.hardState?.commit == placed.index)
        #expect(!commitOnly.mustSync)
    }

    @Test("a pre-vote is answered without the voter changing its term or vote")
    func preVoteChangesNothing() {
        var voter = Self.node(1)
        for _ in 0..<10 { voter.tick() }
        voter.step(Envelope(from: 2, to: 1, message: .requestVote(RequestVote(term: 1, lastLogIndex: 0, lastLogTerm: 0, preVote: true, leadershipTransfer: false))))
        let ready = voter.takeReady()
        #expect(voter.term == 0 && voter.votedFor == nil)
        #expect(ready.hardState == nil)
        #expect(ready.eagerMessages == [Envelope(from: 1, to: 2, message: .voteResponse(VoteResponse(term: 1, granted: true, preVote: true)))])
    }

    @Test("a node that just started refuses votes for one election timeout (lease safety)")
    func startupGuard() {
        var voter = Self.node(1)
        voter.step(Envelope(from: 2, to: 1, message: .requestVote(RequestVote(term: 5, lastLogIndex: 0, lastLogTerm: 0, preVote: false, leadershipTransfer: false))))
        #expect(voter.term == 0)
        let ready = voter.takeReady()
        #expect(ready.messages.isEmpty && ready.hardState == nil)
        #expect(ready.eagerMessages == [Envelope(from: 1, to: 2, message: .voteResponse(VoteResponse(term: 0, granted: false, preVote: false)))])
    }

    @Test("the leader's AppendEntries leave before its own write; the follower's ack waits for its write")
    func replicationOrdering() throws {
        var nodes = Self.electedCluster()
        #expect(nodes[0].role == .leader)
        let placed = try nodes[0].propose([42])
        let leaderReady = nodes[0].takeReady()
        #expect(leaderReady.entries.map(\.index) == [placed.index])
        #expect(leaderReady.messages.isEmpty)
        let appends = leaderReady.eagerMessages.filter { if case .appendEntries(let a) = $0.message { return !a.entries.isEmpty } else { return false } }
        #expect(Set(appends.map(\.to)) == [1, 2])
        nodes[1].step(appends.first { $0.to == 1 }!)
        let followerReady = nodes[1].takeReady()
        #expect(followerReady.entries.map(\.index) == [placed.index])
        #expect(followerReady.eagerMessages.isEmpty)
        guard case .appendResponse(let ack) = followerReady.messages.first?.message else {
            Issue.record("no ack after the write")
            return
        }
        #expect(ack.success && ack.matchIndex == placed.index)
    }

    @Test("a leader counts its own log only once it is durable")
    func leaderWaitsForItsOwnWrite() throws {
        var single = Self.node(0, Configuration(voters: [0]))
        single.campaign(transfer: false)
        _ = single.takeReady()
        #expect(single.role == .leader)
        let placed = try single.propose([1])
        _ = single.takeReady()
        #expect(single.commitIndex < placed.index)
        single.persisted(through: placed.index, term: placed.term)
        let ready = single.takeReady()
        #expect(single.commitIndex == placed.index)
        #expect(ready.committed.last?.index == placed.index)
    }

    @Test("check-quorum: a leader that hears from nobody steps down and refuses writes")
    func checkQuorum() throws {
        var nodes = Self.electedCluster()
        for _ in 0..<25 { nodes[0].tick() }
        #expect(nodes[0].role == .follower)
        #expect(throws: RaftError.notLeader(leaderHint: nil)) { try nodes[0].propose([1]) }
    }

    @Test("one membership change at a time, and none before the leader's no-op commits")
    func oneConfigChangeAtATime() throws {
        var nodes = Self.electedCluster()
        try nodes[0].proposeConfigChange(.addLearner(3, address: "127.0.0.1:5003"))
        #expect(nodes[0].configuration.learners == [3])
        #expect(throws: RaftError.configChangeInProgress) { try nodes[0].proposeConfigChange(.addLearner(4, address: "x")) }
        #expect(throws: RaftError.invalidConfigChange("no such member 9")) {
            var fresh = Self.electedCluster()[0]
            try fresh.proposeConfigChange(.remove(9))
        }
    }

    @Test("a new leader refuses membership changes until its no-op has committed (the broken variant accepts one)")
    func noConfigChangeBeforeNoopCommits() throws {
        for broken in [BrokenVariants(), .configChangeBeforeNoop] {
            var config = RaftConfig(id: 0, seed: 7)
            config.preVote = false
            config.brokenVariants = broken
            var leader = RaftNode(config: config, bootstrap: Self.three)
            var voter = Self.node(1, preVote: false)
            for _ in 0..<10 { voter.tick() }
            leader.campaign(transfer: true)
            // Votes are delivered; the no-op's AppendEntries are not, so it cannot commit.
            for request in leader.takeReady().messages where request.to == 1 {
                voter.step(request)
                for reply in voter.takeReady().messages { leader.step(reply) }
            }
            #expect(leader.role == .leader)
            #expect(leader.log.term(at: leader.commitIndex) != leader.term, "the no-op must still be uncommitted")
            let change = Result { () throws(RaftError) -> LogIndex in try leader.proposeConfigChange(.addLearner(3, address: "127.0.0.1:5003")) }
            if broken.isEmpty {
                #expect(throws: RaftError.configChangeInProgress) { try change.get() }
            } else {
                #expect((try? change.get()) != nil, "the broken variant takes the change (this test can tell)")
            }
        }
    }

    @Test("a learner is promoted only once it holds everything committed")
    func promoteOnlyWhenCaughtUp() throws {
        var nodes = Self.electedCluster() + [Self.node(3, Configuration(voters: []))]
        try nodes[0].proposeConfigChange(.addLearner(3, address: "127.0.0.1:5003"))
        var delivered: Set<Int> = [0, 1, 2]
        func run() {
            var queue = nodes[0].takeReady()
            if let last = queue.entries.last { nodes[0].persisted(through: last.index, term: last.term) }
            var messages = queue.eagerMessages + queue.messages
            while !messages.isEmpty {
                let envelope = messages.removeFirst()
                let to = Int(envelope.to.rawValue)
                guard delivered.contains(to) else { continue }
                nodes[to].step(envelope)
                queue = nodes[to].takeReady()
                if let last = queue.entries.last { nodes[to].persisted(through: last.index, term: last.term) }
                messages += queue.eagerMessages + queue.messages + nodes[to].takeReady().eagerMessages
            }
        }
        run()  // the learner is in the configuration, committed, but has received nothing
        #expect(nodes[0].configuration.learners == [3] && nodes[0].commitIndex == nodes[0].log.lastIndex)
        let refused = #expect(throws: RaftError.self) { try nodes[0].proposeConfigChange(.promote(3)) }
        #expect(refused.map { "\($0)" }?.contains("has not caught up") == true, "\(String(describing: refused))")
        delivered.insert(3)
        nodes[0].tick()
        run()
        #expect(nodes[0].matchIndex(of: 3) == nodes[0].commitIndex)
        try nodes[0].proposeConfigChange(.promote(3))
        #expect(nodes[0].configuration.voters == [0, 1, 2, 3])
    }

    @Test("an InstallSnapshot from a stale term is answered with the newer term, so its sender steps down instead of waiting")
    func staleSnapshotIsAnswered() {
        var nodes = Self.electedCluster()
        let stale = InstallSnapshot(term: 0, metadata: SnapshotMetadata(index: 9, term: 0, configuration: Self.three), data: [])
        nodes[1].step(Envelope(from: 2, to: 1, message: .installSnapshot(stale), correlation: 4))
        let ready = nodes[1].takeReady()
        #expect(ready.eagerMessages == [Envelope(from: 1, to: 2, message: .snapshotResponse(SnapshotResponse(term: 1, matchIndex: 0)), correlation: 4)])
        #expect(ready.snapshot == nil)
    }

    @Test("a follower whose leader's connection closed campaigns one tick past the election timeout, the next voter by id two ticks later; no voter's stickiness changes")
    func leaderMayBeDown() throws {
        var nodes = Self.electedCluster()
        for index in 1...2 { _ = nodes[index].takeReady() }
        #expect(nodes[1].peerMayBeDown(2) == nil, "a hint about a peer that does not lead changes nothing")
        #expect(nodes[1].peerMayBeDown(0) == 11)
        #expect(nodes[2].peerMayBeDown(0) == 13)
        for _ in 0..<10 { nodes[1].tick() }
        #expect(nodes[1].role == .follower, "not before the voters' stickiness has run out")
        nodes[1].tick()
        #expect(nodes[1].role == .candidate, "(this cluster runs without pre-vote)")
        let request = try #require(nodes[1].takeReady().messages.first { $0.to == 2 })
        // Node 2 heard the leader as recently and had the same hint: it still refuses.
        for _ in 0..<9 { nodes[2].tick() }
        nodes[2].step(request)
        #expect(nodes[2].takeReady().eagerMessages.map(\.message) == [.voteResponse(VoteResponse(term: 1, granted: false, preVote: false))])
        #expect(nodes[2].leader == 0 && nodes[2].term == 1)
        // Past its own timeout it grants.
        nodes[2].tick()
        nodes[2].step(request)
        #expect(nodes[2].takeReady().messages.map(\.message) == [.voteResponse(VoteResponse(term: 2, granted: true, preVote: false))])
    }

    @Test("the leader heard again after a hint that it was down: the election timeout is random again")
    func hintUndoneByLeader() throws {
        var nodes = Self.electedCluster()
        _ = nodes[0].takeReady()
        #expect(nodes[1].peerMayBeDown(0) == 11)
        #expect(nodes[1].electionHastened)
        nodes[0].tick()  // a heartbeat
        let heartbeat = try #require(nodes[0].takeReady().eagerMessages.first { $0.to == 1 })
        nodes[1].step(heartbeat)
        #expect(!nodes[1].electionHastened && nodes[1].electionElapsed == 0)
        #expect(nodes[1].randomizedElectionTimeout >= 10)
    }

    @Test("a learner never campaigns")
    func learnerDoesNotCampaign() {
        var learner = Self.node(3, Configuration(voters: [0, 1, 2], learners: [3]))
        for _ in 0..<100 { learner.tick() }
        #expect(learner.role == .follower)
        #expect(learner.takeReady().messages.isEmpty)
    }

    @Test("ReadIndex waits for a quorum to echo a heartbeat sent after the read")
    func readIndexNeedsQuorum() {
        var nodes = Self.electedCluster()
        nodes[0].readIndex(requestID: 9)
        let ready = nodes[0].takeReady()
        #expect(ready.readStates.isEmpty)
        let heartbeat = ready.eagerMessages.first { $0.to == 1 }!
        nodes[1].step(heartbeat)
        let reply = nodes[1].takeReady().messages.first!
        nodes[0].step(reply)
        #expect(nodes[0].takeReady().readStates == [ReadState(requestID: 9, index: nodes[0].commitIndex)])
    }

    @Test("reads share rounds: an echo of a round sent before a read never releases it; one round per round trip")
    func readRoundsAreBatched() {
        var nodes = Self.electedCluster()
        nodes[0].readIndex(requestID: 1)
        let first = nodes[0].takeReady().eagerMessages.filter { $0.to == 1 }
        #expect(first.count == 1, "one heartbeat per peer for the first read")
        // Two more reads while that round is out: no new round yet.
        nodes[0].readIndex(requestID: 2)
        nodes[0].readIndex(requestID: 3)
        #expect(nodes[0].takeReady().eagerMessages.isEmpty, "reads arriving during a round wait for the next one")
        // The first round's echo releases read 1 only: reads 2 and 3 came after it was sent.
        for heartbeat in first { nodes[1].step(heartbeat) }
        for reply in nodes[1].takeReady().messages { nodes[0].step(reply) }
        let afterFirst = nodes[0].takeReady()
        #expect(afterFirst.readStates.map(\.requestID) == [1])
        let second = afterFirst.eagerMessages.filter { $0.to == 1 }
        #expect(second.count == 1, "the next round goes out for the waiting reads together")
        for heartbeat in second { nodes[1].step(heartbeat) }
        for reply in nodes[1].takeReady().messages { nodes[0].step(reply) }
        #expect(nodes[0].takeReady().readStates.map(\.requestID) == [2, 3])
    }

    @Test("a follower asked to read says who leads")
    func readOnFollower() {
        var nodes = Self.electedCluster()
        nodes[1].readIndex(requestID: 3)
        #expect(nodes[1].takeReady().events == [.readFailed(requestID: 3, .notLeader(leaderHint: 0))])
    }
}
