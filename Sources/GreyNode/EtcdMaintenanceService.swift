import GreyMVCC
import GreyRPC
import GreyRaft
import GreyWire

/// etcd's `etcdserverpb.Maintenance`: Status, Defragment, Hash and HashKV answered by the
/// member asked (as etcd's are); Alarm and MoveLeader by the leader. Snapshot is not served here:
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
        router.register(EtcdMaintenanceMethods.alarm) { request, context in
            let node = try handle.node()
            if request.action != .get { try NodeServices.requireClusterCertificate(context, node) }
            if request.action == .activate && request.alarm == .corrupt {
                // etcd would then refuse every request; Grey's replicas are checked by `greyctl fsck` and HashKV.
                throw GRPCStatus(.invalidArgument, "grey: CORRUPT is not an alarm a client raises here; compare replicas with HashKV or greyctl fsck")
            }
            if let answer = try await forwarder.forward(EtcdMaintenanceMethods.alarm, request, from: node, within: NodeServices.remaining(context)) {
                return answer
            }
            if request.action == .get {
                // As linearizable as etcd's (whose Get goes through its log): the leader, confirmed.
                _ = try await node.awaitReadable(lease: false)
                let alarms = try node.store.alarms()
                return Etcd.AlarmResponse(header: await node.etcdHeader(), alarms: alarms.raised(request.alarm))
            }
            let (outcome, _) = try await node.write(.alarm(request))
            guard case .alarm(var response) = outcome else { throw NodeServices.unexpected(outcome) }
            if request.action == .deactivate, !response.alarms.isEmpty {
                node.log("alarm \(request.alarm.name) of member \(request.memberID) disarmed", level: .warning)
            }
            response.header = node.etcdHeader(revision: response.header?.revision ?? 0)
            return response
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
    /// etcd's Status of this member: its size is the store's, what the space quota counts,
    /// and its errors the alarms raised (as etcd lists them).
    func etcdStatus() -> Etcd.StatusResponse {
        let size = storage.stateBytes()
        let alarms = (try? store.alarms().members) ?? []
        return Etcd.StatusResponse(
            header: etcdHeader(), version: EtcdMaintenanceService.version,
            dbSize: size, leader: EtcdMemberID.of(leader: raft.leader),
            raftIndex: raft.commitIndex.rawValue, raftTerm: raft.term.rawValue, raftAppliedIndex: appliedIndex.rawValue,
            errors: alarms.map { "memberID:\($0.memberID) alarm:\($0.alarm.name)" }, dbSizeInUse: size,
            isLearner: raft.configuration.learners.contains(configuration.id))
    }

    /// The leader's etcd member id as this member knows it (etcd's Status says 0 for none).
    var leaderID: UInt64 { EtcdMemberID.of(leader: raft.leader) }
}
