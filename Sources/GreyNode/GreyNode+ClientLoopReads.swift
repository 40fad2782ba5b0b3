import GreyMVCC
import GreyWire

/// Reads answered on the caller's loop (a client loop) with no visit to the node's: stale
/// Gets always, lease Gets while the lease the node published holds.
extension GreyNode {
    /// A Get served by this node, on the caller's loop: a linearizable read, or a lease read
    /// while the published lease does not hold, first waits until the read may be served
    /// (`awaitReadable`, a visit to the node's loop); then the state machine is read. A stale
    /// read, or a lease read while the lease holds, never enters the node's loop.
    nonisolated(nonsending) func get(_ key: [UInt8], consistency: ReadConsistency) async throws -> GetResponse {
        switch consistency {
        case .stale: break
        case .lease where leaseReadsHold: break
        default: _ = try await awaitReadable(lease: consistency == .lease)
        }
        let value = try await range(Etcd.RangeRequest(key: key)).kvs.first?.value
        return GetResponse(header: publishedHeader, found: value != nil, value: value ?? [])
    }

    /// Whether a lease read may be answered from the store now, without the node's loop: the
    /// conditions `publishReadState` published still hold and the lease has not run out.
    nonisolated var leaseReadsHold: Bool {
        guard let until = published.withLockedValue({ $0.leaseReadsUntil }) else { return false }
        return now < until
    }

    /// The response header as of the last drain, for answers given off the node's loop.
    nonisolated var publishedHeader: ResponseHeader {
        let state = published.withLockedValue { $0 }
        return ResponseHeader(
            nodeID: configuration.id.rawValue, leaderID: state.leader ?? 0, hasLeader: state.leader != nil, term: state.term,
            appliedIndex: state.appliedIndex)
    }

    /// Publishes whether lease reads may skip the node's loop, and until when: while this node
    /// leads, holds a lease (until the clock reading the core's lease ends at), has committed
    /// an entry of its term, and has applied everything committed. Then the store holds every
    /// write any leader acknowledged, and every write a follower may already show a reader
    /// (a follower applies what the leader's commit index releases, and the append carrying
    /// a new commit index can leave before this node's own apply): a read of it now is what
    /// the core's lease read would answer. Called after every `takeReady`, before any of the
    /// Ready's messages leave — a new commit index, or a TimeoutNow that forfeits the lease,
    /// is published before a peer can act on it — and after every apply.
    func publishReadState() {
        let readable = raft.role == .leader && !halted && appliedIndex >= raft.commitIndex && raft.hasCommittedInTerm
        let until = readable ? core.leaseExpiry : nil
        let applied = appliedIndex.rawValue
        published.withLockedValue {
            $0.leaseReadsUntil = until
            $0.appliedIndex = applied
        }
    }
}
