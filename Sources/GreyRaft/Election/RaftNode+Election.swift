// Leader election (§5.2), with pre-vote (§9.6), check-quorum and leadership transfer (§3.10).

extension RaftNode {
    /// Starts an election: a pre-vote round first when enabled, unless a leader asked us
    /// to take over (TimeoutNow), which skips it.
    mutating func campaign(transfer: Bool) {
        if config.preVote && !transfer {
            role = .preCandidate
            leader = nil
            resetElectionTimer()
            votesGranted = [id]
            votesRejected = []
            ready.events.append(.roleChanged(.preCandidate, leader: nil, term: term))
            if Quorum.isMajority(votesGranted, of: configuration.voters) {
                becomeCandidate(transfer: false)
            } else {
                requestVotes(term: term.next, preVote: true, transfer: false)
            }
            return
        }
        becomeCandidate(transfer: transfer)
    }

    /// The runtime's hint that `peer` may be down: the connection its messages came on closed,
    /// as a killed process's sockets do at once. When `peer` leads this follower, the follower
    /// campaigns as soon as the voters' stickiness lets it, not after a random timeout of up to
    /// twice that: one tick after the election timeout (the voters heard the leader when this
    /// node did, so they refuse until about then), two ticks later per rank among the remaining
    /// voters by id, so they take turns rather than split the vote. Only a hint: nobody's
    /// stickiness changes — a closed connection does not prove the leader dead, and a live one
    /// may still serve lease reads — and its next message restores the random timeout.
    /// Returns the timeout it set, in ticks; nil when the hint does not concern this node's leader.
    @discardableResult
    public mutating func peerMayBeDown(_ peer: NodeID) -> Int? {
        guard role == .follower, leader == peer, !isRemoved else { return nil }
        // A learner has no rank among the voters, and does not campaign.
        guard let rank = configuration.voters.subtracting([peer]).sorted().firstIndex(of: id) else { return nil }
        if config.brokenVariants.contains(.trustClosedConnection) {
            // The broken variant: forget the leader, so this node votes at once; the first in
            // rank campaigns at once.
            leader = nil
            if rank == 0 { campaign(transfer: false) }
            return 0
        }
        // Set even where the random draw was shorter: a tick or two later, but in turn.
        randomizedElectionTimeout = config.electionTimeoutTicks + 1 + 2 * rank
        electionHastened = true
        return randomizedElectionTimeout
    }

    /// A message from the leader: the election timer starts again, and a timeout shortened on
    /// a hint that it was down (`peerMayBeDown`) is drawn at random again.
    mutating func heardFromLeader() {
        if electionHastened {
            resetElectionTimer()
        } else {
            electionElapsed = 0
        }
    }

    mutating func becomeCandidate(transfer: Bool) {
        term = term.next
        votedFor = id
        role = .candidate
        leader = nil
        resetElectionTimer()
        votesGranted = [id]
        votesRejected = []
        ready.events.append(.roleChanged(.candidate, leader: nil, term: term))
        if Quorum.isMajority(votesGranted, of: configuration.voters) {
            becomeLeader()
        } else {
            requestVotes(term: term, preVote: false, transfer: transfer)
        }
    }

    private mutating func requestVotes(term voteTerm: Term, preVote: Bool, transfer: Bool) {
        let request = RequestVote(
            term: voteTerm, lastLogIndex: log.lastIndex, lastLogTerm: log.lastTerm, preVote: preVote, leadershipTransfer: transfer)
        for voter in configuration.voters.sorted() where voter != id {
            // A real vote request follows the durable term and self-vote; a pre-vote promises nothing.
            send(to: voter, .requestVote(request), afterPersist: !preVote)
        }
    }

    mutating func handleRequestVote(from candidate: NodeID, _ request: RequestVote) {
        let logOK = config.brokenVariants.contains(.skipLogUpToDateCheck)
            || log.isUpToDate(lastIndex: request.lastLogIndex, lastTerm: request.lastLogTerm)
        if request.preVote {
            // Would we vote for this candidate in its next term? Nothing about us changes.
            let granted = request.term > term && logOK
            send(to: candidate, .voteResponse(VoteResponse(term: granted ? request.term : term, granted: granted, preVote: true)), afterPersist: false)
            return
        }
        let canVote = votedFor == candidate || (votedFor == nil && leader == nil)
        let granted = canVote && logOK
        if granted {
            votedFor = candidate
            resetElectionTimer()
        }
        // The grant must be durable before it leaves (§5.2: votedFor is persistent state).
        send(to: candidate, .voteResponse(VoteResponse(term: term, granted: granted, preVote: false)), afterPersist: true)
    }

    mutating func handleVoteResponse(from voter: NodeID, _ response: VoteResponse) {
        guard configuration.voters.contains(voter) else { return }
        switch (role, response.preVote) {
        case (.preCandidate, true), (.candidate, false):
            break
        default:
            return
        }
        if response.granted {
            votesGranted.insert(voter)
        } else {
            votesRejected.insert(voter)
        }
        if Quorum.isMajority(votesGranted, of: configuration.voters) {
            if role == .preCandidate { becomeCandidate(transfer: false) } else { becomeLeader() }
        } else if Quorum.isMajority(votesRejected, of: configuration.voters) {
            becomeFollower(term: term, leader: nil)
        }
    }

    mutating func becomeLeader() {
        role = .leader
        leader = id
        heartbeatElapsed = 0
        electionElapsed = 0
        transferTarget = nil
        progress.removeAll()
        syncProgressWithConfiguration()
        reads = ReadIndexTracker()
        ready.events.append(.roleChanged(.leader, leader: id, term: term))
        // A leader commits entries of earlier terms only through one of its own (§5.4.2);
        // the no-op also blocks membership changes until it commits (the single-server fix).
        let noopIndex = appendAsLeader(.noop)
        pendingConfigIndex = noopIndex
    }

    /// Leader housekeeping per tick: heartbeats, check-quorum, transfer timeout.
    mutating func tickLeader(stalled: Bool) {
        if transferTarget != nil {
            transferElapsed += 1
            if transferElapsed >= config.electionTimeoutTicks { transferTarget = nil }
        }
        if stalled {
            // Followers' acknowledgements may be waiting in the sockets: no check-quorum, no
            // stalled-pipeline count, one heartbeat (a new lease round) at the next live tick.
            heartbeatElapsed = max(heartbeatElapsed, config.heartbeatIntervalTicks - 1)
            return
        }
        heartbeatElapsed += 1
        electionElapsed += 1
        if electionElapsed >= config.electionTimeoutTicks {
            electionElapsed = 0
            if config.checkQuorum {
                var active: Set<NodeID> = [id]
                for (peer, peerProgress) in progress where peerProgress.recentActive { active.insert(peer) }
                for peer in progress.keys { progress[peer]!.recentActive = false }
                if !Quorum.isMajority(active, of: configuration.voters) {
                    becomeFollower(term: term, leader: nil)
                    return
                }
            }
        }
        if heartbeatElapsed >= config.heartbeatIntervalTicks {
            heartbeatElapsed = 0
            broadcastHeartbeat()
        }
        if commitToAnnounce { announceCommit() }
    }

    /// Asks the leader to hand over to `target` once it is caught up.
    public mutating func transferLeadership(to target: NodeID) throws(RaftError) {
        guard role == .leader else { throw .notLeader(leaderHint: leader) }
        guard target != id else { throw .invalidConfigChange("node \(target.rawValue) already leads") }
        guard configuration.voters.contains(target) else { throw .invalidConfigChange("no such voter \(target.rawValue)") }
        transferTarget = target
        transferElapsed = 0
        if progress[target]?.match == log.lastIndex {
            send(to: target, .timeoutNow(TimeoutNow(term: term)), afterPersist: false)
        } else {
            // Re-send from what the target is known to hold rather than wait for heartbeats to
            // notice lost messages: the transfer has an election timeout to finish.
            progress[target]?.becomeProbe()
            sendAppend(to: target)
        }
    }
}
