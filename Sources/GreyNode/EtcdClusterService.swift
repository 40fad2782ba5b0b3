import GreyMVCC
import GreyRPC
import GreyRaft
import GreyWire

/// etcd's `etcdserverpb.Cluster` on Grey's membership machinery. A member's peer and client
/// URLs are both its one address (Grey serves peers and clients on one port); its name is
/// `node-ID`, its id the node's (`EtcdMemberID`: node 0 shows as ffffffffffffffff). MemberAdd
/// registers the address under a new random id, as etcd does (never one a removed member had:
/// its messages still in flight would count for the new one) as a learner, promoted once caught
/// up unless it was added as a learner: the node to run there starts with
/// `GREY_NODE_ID=0x<the id etcdctl printed>` and `GREY_JOIN`.
enum EtcdClusterService {
    static func register(on router: inout GRPCRouter, handle: NodeHandle, forwarder: LeaderForwarder) {
        router.register(EtcdClusterMethods.memberList) { request, context in
            let node = try handle.node()
            return Etcd.MemberListResponse(header: await node.etcdHeader(), members: await node.etcdMembers())
        }
        router.register(EtcdClusterMethods.memberAdd) { request, context in
            let node = try handle.node()
            try NodeServices.requireClusterCertificate(context, node)
            guard request.peerURLs.count == 1, let address = address(of: request.peerURLs[0]) else {
                throw GRPCStatus(.invalidArgument, "etcdserver: give one peer URL, http://host:port (Grey serves peers and clients on one port)")
            }
            if let answer = try await forwarder.forward(EtcdClusterMethods.memberAdd, request, from: node, within: NodeServices.remaining(context)) { return answer }
            let members = await node.etcdMembers()
            if members.contains(where: { $0.peerURLs.contains { Self.address(of: $0) == address } }) {
                throw GRPCStatus(.failedPrecondition, "etcdserver: Peer URLs already exists")
            }
            let id = EtcdMemberID.random(avoiding: Set(members.map(\.id)))
            _ = try await node.join(id: NodeID(id), address: address, asLearner: request.isLearner)
            let all = await node.etcdMembers()
            let added = all.first { $0.id == id } ?? Etcd.Member(id: id, peerURLs: request.peerURLs, isLearner: true)
            return Etcd.MemberAddResponse(header: await node.etcdHeader(), member: added, members: all)
        }
        router.register(EtcdClusterMethods.memberRemove) { request, context in
            let node = try handle.node()
            try NodeServices.requireClusterCertificate(context, node)
            if let answer = try await forwarder.forward(EtcdClusterMethods.memberRemove, request, from: node, within: NodeServices.remaining(context)) { return answer }
            guard let removed = EtcdMemberID.node(request.id), await node.etcdMembers().contains(where: { $0.id == request.id }) else {
                throw GRPCStatus(.notFound, "etcdserver: member not found")
            }
            // etcd's strict reconfiguration check (on by default, and etcdctl has no way round it).
            do {
                try await node.checkRemovalKeepsQuorum(removed)
            } catch is NodeError {
                throw GRPCStatus(.failedPrecondition, "etcdserver: re-configuration failed due to not enough started members")
            }
            _ = try await node.changeMembership(.remove(removed))
            return Etcd.MemberRemoveResponse(header: await node.etcdHeader(), members: await node.etcdMembers())
        }
        router.register(EtcdClusterMethods.memberPromote) { request, context in
            let node = try handle.node()
            try NodeServices.requireClusterCertificate(context, node)
            if let answer = try await forwarder.forward(EtcdClusterMethods.memberPromote, request, from: node, within: NodeServices.remaining(context)) { return answer }
            guard let promoted = EtcdMemberID.node(request.id), let member = await node.etcdMembers().first(where: { $0.id == request.id }) else {
                throw GRPCStatus(.notFound, "etcdserver: member not found")
            }
            guard member.isLearner else { throw GRPCStatus(.failedPrecondition, "etcdserver: can only promote a learner member") }
            do {
                _ = try await node.changeMembership(.promote(promoted))
            } catch NodeError.raft(.invalidConfigChange(let reason)) where reason.contains("has not caught up") {
                throw GRPCStatus(.failedPrecondition, "etcdserver: can only promote a learner member which is in sync with leader")
            }
            return Etcd.MemberPromoteResponse(header: await node.etcdHeader(), members: await node.etcdMembers())
        }
        router.register(EtcdClusterMethods.memberUpdate) { request, context in
            // Raft's membership here names each member by id and address together; an address
            // changes by removing the member and adding it again.
            throw GRPCStatus(.unimplemented, "grey: a member's address cannot change in place; remove the member and add it again at the new address")
        }
    }

    /// `host:port` from a peer URL (`http://host:port`, `https://host:port`, or bare).
    static func address(of url: String) -> String? {
        var rest = Substring(url)
        for scheme in ["http://", "https://", "unix://"] where rest.hasPrefix(scheme) { rest = rest.dropFirst(scheme.count) }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        let address = String(rest)
        return HostPort(address) != nil ? address : nil
    }
}

extension GreyNode {
    /// Every member as etcd describes one.
    func etcdMembers() -> [Etcd.Member] {
        let scheme = configuration.tls == nil ? "http" : "https"
        return raft.configuration.members.sorted().map { id in
            let url = "\(scheme)://\(raft.configuration.addresses[id] ?? "")"
            return Etcd.Member(id: EtcdMemberID.of(id), name: "node-\(id.rawValue)", peerURLs: [url], clientURLs: [url],
                               isLearner: raft.configuration.learners.contains(id))
        }
    }

    /// etcd's header at the store's current revision.
    func etcdHeader() -> Etcd.ResponseHeader {
        etcdHeader(revision: (try? store.revision()) ?? 0)
    }
}
