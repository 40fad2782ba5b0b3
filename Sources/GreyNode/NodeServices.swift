import GreyMVCC
import GreyRPC
import GreyRaft
import GreyWire
import NIOConcurrencyHelpers
import NIOCore
import Tracing

/// The gRPC methods a node serves: KV for clients (forwarded to the leader from any node)
/// and ClusterService for peers and operators.
public enum NodeServices {
    /// How this build is deliberately broken for the chaos test to catch; nil in a real build.
    #if GREY_BROKEN_FOLLOWER_READS
    public static let deliberatelyBroken: String? = "followers answer linearizable reads locally"
    #elseif GREY_BROKEN_EARLY_ACK
    public static let deliberatelyBroken: String? = "puts are acknowledged before a majority has them"
    #elseif GREY_BROKEN_VOTE_ANY_LOG
    public static let deliberatelyBroken: String? = "votes are granted to candidates whose logs are behind"
    #else
    public static let deliberatelyBroken: String? = nil
    #endif

    public static func router(for handle: NodeHandle) -> GRPCRouter {
        var router = GRPCRouter()
        let forwarder = LeaderForwarder()
        router.register(KVMethods.put) { request, context in
            let node = try handle.node()
            guard !request.key.isEmpty else { throw GRPCStatus(.invalidArgument, "key must not be empty") }
            if let answer = try await forwarder.forward(KVMethods.put, request, from: node, within: remaining(context)) { return answer }
            let (outcome, header) = try await node.write(KVCommand.put(request))
            guard case .put = outcome else { throw unexpected(outcome) }
            return PutResponse(header: header)
        }
        router.register(KVMethods.delete) { request, context in
            let node = try handle.node()
            guard !request.key.isEmpty else { throw GRPCStatus(.invalidArgument, "key must not be empty") }
            if let answer = try await forwarder.forward(KVMethods.delete, request, from: node, within: remaining(context)) { return answer }
            let (outcome, header) = try await node.write(KVCommand.delete(request))
            guard case .deleteRange(let response) = outcome else { throw unexpected(outcome) }
            return DeleteResponse(header: header, deleted: response.deleted > 0)
        }
        router.register(KVMethods.compareAndSwap) { request, context in
            let node = try handle.node()
            guard !request.key.isEmpty else { throw GRPCStatus(.invalidArgument, "key must not be empty") }
            if let answer = try await forwarder.forward(KVMethods.compareAndSwap, request, from: node, within: remaining(context)) { return answer }
            let (outcome, header) = try await node.write(KVCommand.compareAndSwap(request))
            guard case .txn(let response) = outcome else { throw unexpected(outcome) }
            let (succeeded, current) = KVCommand.swapResult(response, request)
            return CompareAndSwapResponse(header: header, succeeded: succeeded, currentFound: current != nil, currentValue: current ?? [])
        }
        router.register(KVMethods.get) { request, context in
            let node = try handle.node()
            guard !request.key.isEmpty else { throw GRPCStatus(.invalidArgument, "key must not be empty") }
            #if GREY_BROKEN_FOLLOWER_READS
            // The deliberately broken build for the chaos test to catch (`make chaos-broken`):
            // a follower answers every read from its own state machine, without asking the
            // leader, so it can return a value older than a write already acknowledged.
            if await !node.isLeader { return try await node.get(request.key, consistency: .stale) }
            #endif
            if request.consistency != .stale,
               let answer = try await forwarder.forward(KVMethods.get, request, from: node, within: remaining(context)) { return answer }
            return try await node.get(request.key, consistency: request.consistency)
        }
        router.register(ClusterMethods.requestVote, startsTraces: false) { request, context in
            let node = try handle.peerNode()
            try requireClusterCertificate(context, node)
            let envelope = Envelope(from: NodeID(request.candidateID), to: node.configuration.id, message: .requestVote(RaftWireMapping.requestVote(request)))
            guard case .voteResponse(let response)? = try await node.handle(envelope, expectsReply: true) else { throw GRPCStatus(.internal, "no vote") }
            return RaftWireMapping.voteResponse(response, from: node.configuration.id)
        }
        router.register(ClusterMethods.appendEntries, startsTraces: false) { request, context in
            let node = try handle.peerNode()
            try requireClusterCertificate(context, node)
            let append = try RaftWireMapping.appendEntries(request)
            let envelope = Envelope(from: NodeID(request.leaderID), to: node.configuration.id, message: .appendEntries(append))
            guard case .appendResponse(let response)? = try await node.handle(envelope, expectsReply: true, connectionClosed: context.connectionClosed) else {
                throw GRPCStatus(.internal, "no reply")
            }
            return RaftWireMapping.appendResponse(response, from: node.configuration.id)
        }
        router.register(ClusterMethods.installSnapshot, startsTraces: false) { request, context in
            let node = try handle.peerNode()
            try requireClusterCertificate(context, node)
            return try await node.receiveSnapshotChunk(request)
        }
        router.register(ClusterMethods.timeoutNow, startsTraces: false) { request, context in
            let node = try handle.peerNode()
            try requireClusterCertificate(context, node)
            let envelope = Envelope(from: NodeID(request.leaderID), to: node.configuration.id, message: .timeoutNow(TimeoutNow(term: Term(request.term))))
            _ = try await node.handle(envelope, expectsReply: false)
            return TimeoutNowResponse(term: request.term)
        }
        router.register(ClusterMethods.joinCluster) { request, context in
            let node = try handle.node()
            try requireClusterCertificate(context, node)
            try JoinToken.check(request.joinToken, expected: node.configuration.joinToken)
            guard !request.address.isEmpty, HostPort(request.address) != nil else {
                throw GRPCStatus(.invalidArgument, "address '\(request.address)' is not host:port")
            }
            if let answer = try await forwarder.forward(ClusterMethods.joinCluster, request, from: node, within: remaining(context)) { return answer }
            let members = try await node.join(id: NodeID(request.nodeID), address: request.address, asLearner: request.asLearner)
            return JoinClusterResponse(header: await node.header, members: members)
        }
        router.register(ClusterMethods.leaveCluster) { request, context in
            let node = try handle.node()
            try requireClusterCertificate(context, node)
            try JoinToken.check(request.joinToken, expected: node.configuration.joinToken)
            if let answer = try await forwarder.forward(ClusterMethods.leaveCluster, request, from: node, within: remaining(context)) { return answer }
            if !request.force { try await node.checkRemovalKeepsQuorum(NodeID(request.nodeID)) }
            let members = try await node.changeMembership(.remove(NodeID(request.nodeID)))
            return LeaveClusterResponse(header: await node.header, members: members)
        }
        router.register(ClusterMethods.promoteMember) { request, context in
            let node = try handle.node()
            try requireClusterCertificate(context, node)
            if let answer = try await forwarder.forward(ClusterMethods.promoteMember, request, from: node, within: remaining(context)) { return answer }
            let members = try await node.changeMembership(.promote(NodeID(request.nodeID)))
            return PromoteMemberResponse(header: await node.header, members: members)
        }
        router.register(ClusterMethods.transferLeadership) { request, context in
            let node = try handle.node()
            try requireClusterCertificate(context, node)
            if let answer = try await forwarder.forward(ClusterMethods.transferLeadership, request, from: node, within: remaining(context)) { return answer }
            try await node.transferLeadership(to: NodeID(request.targetID))
            return TransferLeadershipResponse(header: await node.header)
        }
        EtcdKVService.register(on: &router, handle: handle, forwarder: forwarder)
        EtcdClusterService.register(on: &router, handle: handle, forwarder: forwarder)
        EtcdMaintenanceService.register(on: &router, handle: handle, forwarder: forwarder)
        EtcdAuthService.register(on: &router, handle: handle)
        router.register(ClusterMethods.getClusterStatus) { _, _ in
            // While it waits for its peers a node still says who it is: that is how they find it.
            guard let node = handle.startedNode else { return GetClusterStatusResponse(nodeID: handle.id.rawValue) }
            return await node.status()
        }
        return router
    }

    /// With TLS on, only holders of a certificate from the cluster CA may vote, append, send
    /// snapshots or change the membership; anyone TLS lets in may use KV and read the status.
    static func requireClusterCertificate(_ context: GRPCCallContext, _ node: GreyNode) throws {
        guard node.configuration.tls != nil, !context.peerCertified else { return }
        throw GRPCStatus(.unauthenticated, "\(context.path) needs a client certificate from the cluster CA")
    }

    /// The error for a write whose outcome is not the kind its command produces: etcd's
    /// error for a refusal, else an internal one.
    static func unexpected(_ outcome: MVCCOutcome) -> GRPCStatus {
        if case .refused(let error) = outcome { return error.status }
        return GRPCStatus(.internal, "unexpected outcome \(outcome)")
    }

    /// How long a forwarded call may take: what the caller allows, or five seconds.
    static func remaining(_ context: GRPCCallContext) -> Duration {
        guard let deadline = context.deadline else { return .seconds(5) }
        let nanoseconds = (deadline - NIODeadline.now()).nanoseconds
        return .nanoseconds(max(nanoseconds, 1_000_000))
    }
}

/// The node behind the server, which exists only once the founding members have found
/// each other; until then calls get UNAVAILABLE and GetClusterStatus answers with the id.
/// A lock, not an actor: every call reads it, and an actor's hop would cost each call a
/// thread switch.
public final class NodeHandle: Sendable {
    public let id: NodeID
    private let current = NIOLockedValueBox<GreyNode?>(nil)

    public init(id: NodeID) {
        self.id = id
    }

    public var startedNode: GreyNode? { current.withLockedValue { $0 } }

    public func set(_ started: GreyNode) {
        current.withLockedValue { $0 = started }
    }

    /// The node, for a client's call: refused while it starts, and once it was removed (its
    /// state ends where its removal was: answering from it would be stale, and forwarding
    /// would hide that it is out; clients move on to another endpoint).
    func node() throws -> GreyNode {
        let started = try peerNode()
        if started.wasRemoved { throw GRPCStatus(.unavailable, "node \(id.rawValue) was removed from the cluster and serves no more") }
        return started
    }

    /// The node, for its peers' Raft calls: answered as long as it runs.
    func peerNode() throws -> GreyNode {
        guard let started = startedNode else { throw GRPCStatus(.unavailable, "node \(id.rawValue) is starting: waiting for its peers") }
        return started
    }
}

/// Sends client calls on to whichever node leads, over channels reused across calls.
final class LeaderForwarder: Sendable {
    private let channels = ChannelCache()

    /// The leader's answer when another node leads; nil when this node leads (serve it here).
    /// A leader that cannot be reached at all never saw the call, so while the deadline allows
    /// the call waits for the next leader instead of failing: a client writing through a
    /// follower rides out a failover. A call that reached the leader is never sent twice.
    func forward<Request, Response>(
        _ method: GRPCMethod<Request, Response>, _ request: Request, from node: GreyNode, within limit: Duration
    ) async throws -> Response? {
        let deadline = ContinuousClock.now + limit
        while true {
            if node.ledAtLastDrain { return nil }
            let remaining = deadline - ContinuousClock.now
            do {
                guard let address = await node.leaderAddress() else { throw NodeError.noLeader }
                let channel = try channels.channel(to: address, on: node.configuration.clientLoops, dialing: node.configuration)
                guard let traced = ServiceContext.current else { return try await channel.call(method, request, timeout: remaining) }
                // In a traced call: a client span for the hop, whose id the leader's server span
                // takes as its parent.
                let span = startSpan("forward to leader", context: traced, ofKind: .client)
                span.attributes["grey.leader"] = address
                defer { span.end() }
                do {
                    return try await channel.call(method, request, timeout: remaining, metadata: CallTracing.metadata(for: span.context))
                } catch {
                    span.setStatus(SpanStatus(code: .error, message: "\(error)"))
                    throw error
                }
            } catch let status as GRPCStatus where GRPCChannel.neverConnected(status) && remaining > .milliseconds(50) {
                try await Task.sleep(for: .milliseconds(20))
            } catch NodeError.noLeader where remaining > .milliseconds(50) {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }
}
