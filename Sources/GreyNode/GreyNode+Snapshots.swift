import Foundation
import GreyRPC
import GreyRaft
import GreyStorage
import GreyWire

#if canImport(Glibc)
import Glibc
#endif

/// Log compaction, and snapshots streamed to followers that are behind the log start.
///
/// The state machine lives in RocksDB and is always current, so a snapshot is not a copy
/// made ahead of time: compaction only records where the log now starts, and a follower
/// that needs more is sent the state as of the leader's applied index, read from a frozen
/// RocksDB view while writes go on.
extension GreyNode {
    // MARK: - Compaction

    /// Compacts the log once `snapshotEntries` applied entries sit behind the last point,
    /// keeping `snapshotCatchUpEntries` for followers that are only a little behind.
    func compactIfDue() {
        let start = raft.log.snapshotIndex.rawValue
        guard !compacting, appliedIndex.rawValue >= start + configuration.snapshotEntries else { return }
        let point = LogIndex(appliedIndex.rawValue - configuration.snapshotCatchUpEntries)
        guard point.rawValue > start else { return }
        core.compact(through: point)
        let metadata = raft.snapshotMetadata
        compacting = true
        let storage = self.storage
        Task {
            do {
                try await self.onStorage { try storage.compact(through: metadata) }
            } catch {
                self.storageFailed("compact the log", error)
            }
            self.compactionDone()
        }
    }

    private func compactionDone() {
        compacting = false
        metrics.noteCompaction(through: raft.log.snapshotIndex.rawValue)
        log("log compacted through index \(raft.log.snapshotIndex.rawValue); \(raft.log.lastIndex.rawValue - raft.log.snapshotIndex.rawValue) entries kept after it")
    }

    // MARK: - Sending (leader)

    /// Starts streaming the current state to `peer`, unless a transfer to it is running.
    func startSnapshotTransfer(to peer: NodeID) {
        guard raft.role == .leader, !snapshotTransfers.contains(peer), let channel = channel(to: peer) else { return }
        snapshotTransfers.insert(peer)
        let term = raft.term
        Task { await self.transferSnapshot(to: peer, channel: channel, term: term) }
    }

    private func transferSnapshot(to peer: NodeID, channel: GRPCChannel, term: Term) async {
        defer { snapshotTransfers.remove(peer) }
        // A snapshot that went stale before the follower took any of it is replaced by a fresh
        // one (a bounded number of times: the core asks again if this transfer gives up).
        for _ in 0..<3 {
            let source: SnapshotSource
            do {
                source = try await openSnapshot()
            } catch {
                log("cannot read a snapshot for node \(peer.rawValue): \(error)", level: .error)
                return
            }
            guard raft.role == .leader, raft.term == term else { return }
            let metadata = source.metadata
            let sender = SnapshotSender(source: source, channel: channel, term: term, leader: configuration.id, queue: snapshotQueue, chunkBytes: configuration.snapshotChunkBytes)
            let started = ContinuousClock.now
            log("sending node \(peer.rawValue) a snapshot at index \(metadata.index.rawValue)")
            do {
                let response = try await sender.run(
                    stillLeading: { await self.isLeader(of: term) },
                    stillCurrent: { await self.logGoesOn(from: metadata.index) })
                let elapsed = (ContinuousClock.now - started).components
                let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
                if response.installed {
                    metrics.noteSnapshotSent(bytes: source.offset, seconds: seconds)
                    log("node \(peer.rawValue) installed the snapshot at index \(metadata.index.rawValue): \(source.offset) bytes in \(String(format: "%.2f", seconds)) s")
                }
                let match = response.installed ? metadata.index : 0
                receive(Envelope(from: peer, to: configuration.id, message: .snapshotResponse(SnapshotResponse(term: Term(response.term), matchIndex: match))))
                return
            } catch let outdated as SnapshotSender.Outdated {
                log("the snapshot at index \(outdated.index.rawValue) went stale before node \(peer.rawValue) took any of it (the log was compacted past it); taking a newer one")
            } catch {
                log("snapshot to node \(peer.rawValue) stopped: \(error)", level: .warning)
                return
            }
        }
    }

    /// Whether this node's log still holds every entry after `index`: a follower that installs
    /// a snapshot at `index` can go on from the log rather than need another snapshot.
    func logGoesOn(from index: LogIndex) -> Bool {
        raft.snapshotMetadata(at: index) != nil
    }

    /// The state as applied here now, frozen, with the metadata that describes it: what a
    /// follower is sent and what `greyctl snapshot create` saves.
    func openSnapshot() async throws -> SnapshotSource {
        let storage = self.storage
        // On the storage queue, so the view includes every apply queued before it.
        let frozen = try await onStorage {
            let view = storage.freeze()
            return (view: view, applied: try RaftStorage.appliedIndex(in: view))
        }
        guard let metadata = raft.snapshotMetadata(at: frozen.applied) else {
            throw GRPCStatus(.unavailable, "the log moved past applied index \(frozen.applied.rawValue) while freezing it; try again")
        }
        return SnapshotSource(view: frozen.view, metadata: metadata)
    }

    func isLeader(of term: Term) -> Bool {
        raft.role == .leader && raft.term == term
    }

    // MARK: - Receiving (follower)

    /// Takes one InstallSnapshot chunk. The answer's `next_offset` says where the leader
    /// goes on from: the next chunk, this one again (damaged or a duplicate), or byte 0.
    /// After the last chunk the core installs the snapshot before this returns.
    func receiveSnapshotChunk(_ request: InstallSnapshotRequest) async throws -> InstallSnapshotResponse {
        func answer(_ next: UInt64, installed: Bool = false) -> InstallSnapshotResponse {
            InstallSnapshotResponse(term: raft.term.rawValue, followerID: configuration.id.rawValue, nextOffset: next, installed: installed)
        }
        guard Term(request.term) >= raft.term else { return answer(0) }
        let identity = IncomingSnapshot.Identity(index: request.lastIncludedIndex, term: request.lastIncludedTerm)
        if incomingSnapshot?.identity != identity || (request.offset == 0 && incomingSnapshot?.busy == false) {
            guard request.offset == 0 else { return answer(0) }
            incomingSnapshot?.discard()
            incomingSnapshot = try IncomingSnapshot(path: storage.incomingSnapshotPath(index: identity.index, term: identity.term), identity: identity)
        }
        let incoming = incomingSnapshot!
        guard !incoming.busy, request.offset == incoming.received else { return answer(incoming.received) }
        guard CRC32C.checksum(request.data) == request.chunkCRC32C else {
            log("snapshot chunk at \(request.offset) failed its CRC; asking again", level: .warning)
            return answer(incoming.received)
        }
        incoming.busy = true
        defer { incoming.busy = false }
        let data = request.data
        do {
            try await snapshotQueue.run { try incoming.append(data) }
        } catch {
            log("snapshot from node \(request.leaderID) refused: \(error)", level: .warning)
            discardIncoming(incoming)
            return answer(0)
        }
        guard request.done else { return answer(incoming.received) }
        let metadata: SnapshotMetadata
        do {
            metadata = try await snapshotQueue.run { try incoming.finish() }
            guard metadata.index.rawValue == identity.index, metadata.term.rawValue == identity.term else {
                throw StorageError.badSnapshot("header says index \(metadata.index.rawValue) term \(metadata.term), chunks said \(identity.index)/\(identity.term)")
            }
        } catch {
            log("snapshot from node \(request.leaderID) refused: \(error)", level: .warning)
            discardIncoming(incoming)
            return answer(0)
        }
        if incomingSnapshot === incoming { incomingSnapshot = nil }
        receivedSnapshots[metadata.index] = (metadata, incoming.path)
        let envelope = Envelope(
            from: NodeID(request.leaderID), to: configuration.id,
            message: .installSnapshot(InstallSnapshot(term: Term(request.term), metadata: metadata, data: [])))
        // The core's reply leaves after any install it asked for: a file still here was not
        // wanted (stale, or already covered by the log).
        defer {
            if let leftover = receivedSnapshots[metadata.index], leftover.path == incoming.path {
                receivedSnapshots[metadata.index] = nil
                unlink(incoming.path)
            }
        }
        _ = try await handle(envelope, expectsReply: true)
        return answer(incoming.received, installed: true)
    }

    private func discardIncoming(_ incoming: IncomingSnapshot) {
        incoming.discard()
        if incomingSnapshot === incoming { incomingSnapshot = nil }
    }

    /// Replaces the state machine with the received snapshot the core accepted (perform step 2).
    func install(_ metadata: SnapshotMetadata) async {
        guard let received = receivedSnapshots[metadata.index] else {
            fatalError("\(configuration.id): the core installs snapshot \(metadata.index), which was never received")
        }
        let storage = self.storage
        let started = ContinuousClock.now
        installingSnapshot = true
        do {
            let store = self.store
            try await onStorage {
                try storage.installSnapshot(file: received.path, metadata: metadata)
                store.reload()
                try store.adoptLegacyState()  // a snapshot from a node still on the old state machine
            }
        } catch {
            storageFailed("install the snapshot at \(metadata.index)", error)
        }
        receivedSnapshots[metadata.index] = nil
        unlink(received.path)
        appliedIndex = metadata.index
        installingSnapshot = false
        let waiting = waitingForInstall
        waitingForInstall = []
        for reader in waiting { reader.resume() }
        if (try? store.compactionIsDue()) == true { scheduleStoreCompaction() }  // the sender's, half done
        log("installed a snapshot at index \(metadata.index.rawValue) in \(ContinuousClock.now - started)")
    }

}
