import GreyMVCC
import GreyRPC
import GreyRaft
import GreyWire

/// etcd's `etcdserverpb.Maintenance`: Status, Alarm, Defragment, Hash and HashKV answered by
/// the member asked (as etcd's are); MoveLeader by the leader. Snapshot is not served here:
/// `greyctl snapshot create` saves one.
enum EtcdMaintenanceService {
    /// The etcd API version Grey answers (build metadata names Grey and leaves version
    /// comparisons unaffected).
    static let version = "3.4.0+grey"

    static func register(on router: inout GRPCRouter, handle: NodeHandle, forwarder: LeaderForwarder) {
        router.register(EtcdMaintenanceMethods.status) { _, _ in
            let node = try handle.node()
            return await node.etcdStatus()
        }
        router.register(EtcdMaintenanceMethods.alarm) { request, _ in
            let node = try handle.node()
            // No alarm is ever raised yet (NOSPACE comes with the space quota): every list is
            // empty, and disarming one that is not raised changes nothing, as in etcd.
            guard request.action != .activate else {
                throw GRPCStatus(.unimplemented, "grey: alarms are raised by the cluster itself, not by clients")
            }
            return Etcd.AlarmResponse(header: await node.etcdHeader(), alarms: [])
        }
        router.register(EtcdMaintenanceMethods.defragment) { _, context in
            let node = try handle.node()
            try NodeServices.requireClusterCertificate(context, node)
            let storage = node.storage
            try await node.onStorage { storage.defragment() }
            return Etcd.DefragmentResponse(header: await node.etcdHeader())
        }
        router.register(EtcdMaintenanceMethods.hash) { _, _ in
            let node = try handle.node()
            let store = node.store
            let hash = try await node.onStorage { try store.hashAll() }
            return Etcd.HashResponse(header: await node.etcdHeader(), hash: hash)
        }
        router.register(EtcdMaintenanceMethods.hashKV) { request, _ in
            let node = try handle.node()
            let store = node.store
            let result = try await node.onStorage { () throws -> (hash: UInt32, revision: Int64, compacted: Int64) in
                do { return try store.hashKV(revision: request.revision) } catch let error as MVCCError { throw error.status }
            }
            return Etcd.HashKVResponse(header: await node.etcdHeader(), hash: result.hash, compactRevision: result.compacted)
        }
        router.register(EtcdMaintenanceMethods.moveLeader) { request, context in
            let node = try handle.node()
            try NodeServices.requireClusterCertificate(context, node)
            if let answer = try await forwarder.forward(EtcdMaintenanceMethods.moveLeader, request, from: node, within: NodeServices.remaining(context)) {
                return answer
            }
            guard let target = EtcdMemberID.node(request.targetID),
                  await node.etcdMembers().contains(where: { $0.id == request.targetID && !$0.isLearner }) else {
                throw GRPCStatus(.failedPrecondition, "etcdserver: bad leader transferee")
            }
            try await node.transferLeadership(to: target)
            // etcd answers once the target leads; so does Grey, within the call's deadline.
            let deadline = ContinuousClock.now + NodeServices.remaining(context)
            while await node.leaderID != request.targetID {
                guard ContinuousClock.now < deadline else { throw GRPCStatus(.unavailable, "etcdserver: request timed out, leader transfer took too long") }
                try await Task.sleep(for: .milliseconds(10))
            }
            return Etcd.MoveLeaderResponse(header: await node.etcdHeader())
        }
        router.register(EtcdMaintenanceMethods.snapshot) { _, _ in
            throw GRPCStatus(.unimplemented, "grey: save a snapshot with `greyctl snapshot create --output FILE`")
        }
    }
}

extension GreyNode {
    /// etcd's Status of this member.
    func etcdStatus() -> Etcd.StatusResponse {
        let size = Int64(NodeMetrics.directorySize(configuration.dataDirectory))  // one walk of the directory for both fields
        return Etcd.StatusResponse(
            header: etcdHeader(), version: EtcdMaintenanceService.version,
            dbSize: size, leader: EtcdMemberID.of(leader: raft.leader),
            raftIndex: raft.commitIndex.rawValue, raftTerm: raft.term.rawValue, raftAppliedIndex: appliedIndex.rawValue,
            errors: [], dbSizeInUse: size,
            isLearner: raft.configuration.learners.contains(configuration.id))
    }

    /// The leader's etcd member id as this member knows it (etcd's Status says 0 for none).
    var leaderID: UInt64 { EtcdMemberID.of(leader: raft.leader) }
}
