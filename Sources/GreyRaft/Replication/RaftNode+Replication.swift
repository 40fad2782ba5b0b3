// Log replication (§5.3), commitment (§5.4.2) and snapshot hand-off (§7).

extension RaftNode {
    mutating func checkCanPropose() throws(RaftError) {
        guard role == .leader else { throw .notLeader(leaderHint: leader) }
        guard transferTarget == nil else { throw .transferInProgress }
    }

    /// Appends a new entry to the leader's log; replication goes out at the next `takeReady()`,
    /// so a burst of proposals shares AppendEntries messages and one fsync.
    @discardableResult
    mutating func appendAsLeader(_ payload: EntryPayload) -> LogIndex {
        let entry = LogEntry(term: term, index: log.lastIndex.next, payload: payload)
        log.append(entry)
        ready.entries.append(entry)
        if case .config(_, let result) = payload {
            pendingConfigIndex = entry.index
            adoptConfiguration(result, at: entry.index)
        }
        needsBroadcast = true
        if configuration.voters == [id] || configuration.voters.isEmpty { maybeCommit() }
        return entry.index
    }

    /// Adds progress for new members and forgets removed ones.
    mutating func syncProgressWithConfiguration() {
        for member in configuration.members where member != id && progress[member] == nil {
            progress[member] = Progress(next: log.lastIndex.next)
        }
        for peer in progress.keys where !configuration.contains(peer) {
            progress[peer] = nil
        }
    }

    /// Sends new entries to every follower, and tells those with nothing new to receive the
    /// new commit index at once rather than at the next heartbeat.
    mutating func broadcastAppend() {
        for peer in progress.keys.sorted() {
            sendAppend(to: peer)
            if let peerProgress = progress[peer], peerProgress.commitSent < min(commitIndex, peerProgress.match) {
                sendHeartbeat(to: peer, context: reads.currentContext)
            }
        }
    }

    /// Tells followers that hold entries they do not yet know are committed.
    mutating func announceCommit() {
        commitToAnnounce = false
        for peer in progress.keys.sorted() {
            if let peerProgress = progress[peer], peerProgress.commitSent < min(commitIndex, peerProgress.match) {
                sendHeartbeat(to: peer, context: reads.currentContext)
            }
        }
    }

    /// Heartbeats: a fresh read context for ReadIndex and the lease, probes re-sent, and
    /// stalled pipelines (lost messages) restarted from the last acknowledged entry.
    mutating func broadcastHeartbeat() {
        let context = reads.newRound(atTick: tickCount)
        for peer in progress.keys.sorted() {
            var peerProgress = progress[peer]!
            let stalled = peerProgress.match == peerProgress.matchAtLastHeartbeat && peerProgress.match < log.lastIndex
            peerProgress.matchAtLastHeartbeat = peerProgress.match
            switch peerProgress.state {
            case .probe:
                peerProgress.probeSent = false
            case .replicate where stalled && !peerProgress.inflight.isEmpty:
                peerProgress.stalledHeartbeats += 1
                if peerProgress.stalledHeartbeats >= 2 { peerProgress.becomeProbe() }
            case .snapshot where stalled:
                peerProgress.stalledHeartbeats += 1
                if peerProgress.stalledHeartbeats >= config.electionTimeoutTicks { peerProgress.becomeProbe() }
            default:
                peerProgress.stalledHeartbeats = 0
            }
            progress[peer] = peerProgress
            sendHeartbeat(to: peer, context: context)
            sendAppend(to: peer)
        }
        if configuration.voters == [id] { reads.confirm(context: context, voters: configuration.voters, self: id) }
        releaseConfirmedReads()
    }

    /// An empty AppendEntries anchored at what the follower is known to hold, so it always
    /// matches, resets the follower's election timer and carries the commit index and read context.
    /// A follower known to hold less than the log start (it is being sent a snapshot) gets
    /// one anchored at the log start instead: it refuses it, but learns the leader is alive
    /// and does not start an election in the middle of a long transfer.
    mutating func sendHeartbeat(to peer: NodeID, context: UInt64) {
        guard let peerProgress = progress[peer] else { return }
        let anchor = log.term(at: peerProgress.match).map { (peerProgress.match, $0) } ?? (log.snapshotIndex, log.snapshotTerm)
        let commit = min(commitIndex, peerProgress.match)
        send(to: peer, .appendEntries(AppendEntries(
            term: term, prevLogIndex: anchor.0, prevLogTerm: anchor.1, entries: [],
            leaderCommit: commit, readContext: context)), afterPersist: false)
        progress[peer]!.commitSent = max(peerProgress.commitSent, commit)
    }

    /// Sends what `peer` lacks, within its flow-control window; a snapshot if it is behind the log start.
    mutating func sendAppend(to peer: NodeID) {
        guard var peerProgress = progress[peer] else { return }
        while peerProgress.canSend(maxInflightMessages: config.maxInflightMessages, maxInflightBytes: config.maxInflightBytes) {
            let previous = peerProgress.next.previous
            guard let previousTerm = log.term(at: previous) else {
                peerProgress.becomeSnapshot(log.snapshotIndex)
                send(to: peer, .installSnapshot(InstallSnapshot(term: term, metadata: snapshotMetadata, data: [])), afterPersist: false)
                break
            }
            let entries = log.entries(from: peerProgress.next, through: log.lastIndex, maxBytes: config.maxMessageBytes)
            if entries.isEmpty && peerProgress.state == .replicate { break }
            let bytes = entries.reduce(0) { $0 + $1.approximateBytes }
            send(to: peer, .appendEntries(AppendEntries(
                term: term, prevLogIndex: previous, prevLogTerm: previousTerm, entries: entries,
                leaderCommit: commitIndex, readContext: reads.currentContext)), afterPersist: false)
            peerProgress.sent(last: entries.last?.index ?? previous, bytes: bytes)
            peerProgress.commitSent = max(peerProgress.commitSent, min(commitIndex, entries.last?.index ?? previous))
            if entries.isEmpty { break }
        }
        progress[peer] = peerProgress
        if transferTarget == peer && peerProgress.match == log.lastIndex {
            send(to: peer, .timeoutNow(TimeoutNow(term: term)), afterPersist: false)
        }
    }

    mutating func handleAppendEntries(from sender: NodeID, _ append: AppendEntries) {
        if role != .follower { becomeFollower(term: term, leader: sender) }
        if leader != sender {
            leader = sender
            ready.events.append(.roleChanged(.follower, leader: sender, term: term))
        }
        heardFromLeader()
        var response = AppendResponse(
            term: term, success: false, matchIndex: 0, rejectedIndex: append.prevLogIndex,
            conflictIndex: 0, conflictTerm: 0, readContext: append.readContext)
        if append.prevLogIndex < commitIndex {
            // Everything through our commit index matches any leader's log (§5.4.3); skip what we have.
            let fresh = append.entries.filter { $0.index > commitIndex }
            if fresh.count < append.entries.count || append.entries.isEmpty {
                let anchor = fresh.first.map { $0.index.previous } ?? commitIndex
                if let anchorTerm = log.term(at: anchor) {
                    handleAppendEntries(from: sender, AppendEntries(
                        term: append.term, prevLogIndex: anchor, prevLogTerm: anchorTerm, entries: fresh,
                        leaderCommit: append.leaderCommit, readContext: append.readContext))
                    return
                }
            }
        }
        if log.matches(index: append.prevLogIndex, term: append.prevLogTerm) {
            for entry in append.entries {
                if let existing = log.term(at: entry.index) {
                    if existing == entry.term { continue }
                    precondition(entry.index > commitIndex, "\(id): conflict at committed \(entry.index) (commit \(commitIndex))")
                    truncate(from: entry.index)
                }
                log.append(entry)
                ready.entries.append(entry)
                if case .config(_, let result) = entry.payload {
                    adoptConfiguration(result, at: entry.index)
                }
            }
            let lastNew = append.prevLogIndex + UInt64(append.entries.count)
            if append.leaderCommit > commitIndex {
                commitIndex = max(commitIndex, min(append.leaderCommit, lastNew))
            }
            response.success = true
            response.matchIndex = lastNew
        } else if append.prevLogIndex > log.lastIndex {
            response.conflictIndex = log.lastIndex.next
        } else {
            response.conflictTerm = log.term(at: append.prevLogIndex) ?? 0
            response.conflictIndex = log.firstIndex(ofTermAt: append.prevLogIndex)
        }
        // The ack promises the entries are on disk: it leaves only after the write.
        send(to: sender, .appendResponse(response), afterPersist: true)
    }

    private mutating func truncate(from index: LogIndex) {
        log.truncate(from: index)
        ready.entries.removeAll { $0.index >= index }
        ready.truncateFrom = min(ready.truncateFrom ?? index, index)
        durableIndex = min(durableIndex, index.previous)
        dropConfigurations(from: index)
    }

    mutating func handleAppendResponse(from peer: NodeID, _ response: AppendResponse) {
        guard role == .leader, var peerProgress = progress[peer] else { return }
        peerProgress.recentActive = true
        peerProgress.lastHeardTick = tickCount
        reads.acknowledge(peer: peer, context: response.readContext)
        if response.success {
            let moved = peerProgress.acknowledged(response.matchIndex)
            if moved { peerProgress.stalledHeartbeats = 0 }
            switch peerProgress.state {
            case .probe where response.matchIndex >= peerProgress.next.previous:
                peerProgress.becomeReplicate()
            case .snapshot(let index) where peerProgress.match >= index:
                peerProgress.becomeReplicate()
            default:
                break
            }
            progress[peer] = peerProgress
            if moved { maybeCommit() }
        } else {
            let stale: Bool = switch peerProgress.state {
            case .replicate: response.rejectedIndex <= peerProgress.match
            case .probe: response.rejectedIndex != peerProgress.next.previous
            case .snapshot: true
            }
            if !stale && response.rejectedIndex > 0 {
                var next = response.conflictIndex
                if response.conflictTerm > 0, let last = log.lastIndex(ofTerm: response.conflictTerm) {
                    next = last.next
                }
                peerProgress.becomeProbe()
                peerProgress.next = max(peerProgress.match.next, min(next, response.rejectedIndex))
            }
            progress[peer] = peerProgress
        }
        releaseConfirmedReads()
        sendAppend(to: peer)
    }

    mutating func handleInstallSnapshot(from sender: NodeID, _ snapshot: InstallSnapshot) {
        if role != .follower { becomeFollower(term: term, leader: sender) }
        leader = sender
        heardFromLeader()
        let metadata = snapshot.metadata
        if metadata.index <= commitIndex {
            send(to: sender, .snapshotResponse(SnapshotResponse(term: term, matchIndex: commitIndex)), afterPersist: true)
            return
        }
        if log.matches(index: metadata.index, term: metadata.term) {
            // We already hold everything the snapshot covers: just learn it is committed.
            commitIndex = metadata.index
        } else {
            log = RaftLog(snapshotIndex: metadata.index, snapshotTerm: metadata.term, entries: [])
            commitIndex = metadata.index
            committedHandedOut = metadata.index
            durableIndex = metadata.index
            ready.entries.removeAll()
            ready.truncateFrom = nil
            ready.snapshot = snapshot
            configurationHistory = [(metadata.index, metadata.configuration)]
            configuration = metadata.configuration
            if configuration.contains(id) { hasBeenMember = true }
            ready.events.append(.configurationChanged(configuration))
        }
        send(to: sender, .snapshotResponse(SnapshotResponse(term: term, matchIndex: metadata.index)), afterPersist: true)
    }

    mutating func handleSnapshotResponse(from peer: NodeID, _ response: SnapshotResponse) {
        guard role == .leader, var peerProgress = progress[peer] else { return }
        peerProgress.recentActive = true
        peerProgress.lastHeardTick = tickCount
        _ = peerProgress.acknowledged(response.matchIndex)
        peerProgress.becomeProbe()
        progress[peer] = peerProgress
        maybeCommit()
        sendAppend(to: peer)
    }

    /// Advances the commit index to the highest entry of this term stored by a majority (§5.4.2).
    mutating func maybeCommit() {
        guard role == .leader else { return }
        let candidate = Quorum.committedIndex(voters: configuration.voters) { voter in
            voter == id ? durableIndex : (progress[voter]?.match ?? 0)
        }
        guard candidate > commitIndex, let candidateTerm = log.term(at: candidate) else { return }
        // Counting replicas commits only entries of the current term; earlier ones commit with them.
        guard candidateTerm == term || config.brokenVariants.contains(.commitOldTermByCount) else { return }
        commitIndex = candidate
        commitToAnnounce = true
        releaseReadsWaitingForCommit()
    }
}
