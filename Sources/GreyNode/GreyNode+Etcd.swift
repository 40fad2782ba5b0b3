import GreyMVCC
import GreyRaft
import GreyWire

/// What the etcd services need from the node: etcd's response header, and read-only Txns.
extension GreyNode {
    /// A 64-bit id for the cluster, the same on every founding member: FNV-1a over the founding
    /// members' ids and addresses. A node that joins later has no founding membership of its
    /// own: it asks the member it joins through and stores the answer (`Bootstrap.clusterID`).
    static func clusterID(founding: GreyRaft.Configuration) -> UInt64 {
        let text = founding.voters.sorted().map { "\($0.rawValue)@\(founding.addresses[$0] ?? "")" }.joined(separator: ",")
        return text.utf8.reduce(0xcbf2_9ce4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01B3 }
    }

    /// etcd's header: the cluster, this member, the store's revision and the Raft term (as of
    /// the node's last drain: built without entering the actor).
    nonisolated func etcdHeader(revision: Int64) -> Etcd.ResponseHeader {
        Etcd.ResponseHeader(clusterID: clusterID, memberID: EtcdMemberID.of(configuration.id), revision: revision, raftTerm: publishedTerm)
    }

    /// A Txn response with etcd's header on it and on every response inside it.
    nonisolated func etcdHeaders(_ response: Etcd.TxnResponse) -> Etcd.TxnResponse {
        response.stamped(etcdHeader(revision: response.header?.revision ?? 0))
    }

    /// Answers a Txn that only reads from what this node has applied.
    func evaluate(_ request: Etcd.TxnRequest) async throws -> Etcd.TxnResponse {
        await waitForInstall()
        do {
            return try store.evaluate(request)
        } catch {
            throw error.status
        }
    }
}
