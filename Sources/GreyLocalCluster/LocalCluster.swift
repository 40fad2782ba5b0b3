import Foundation
import GreyRPC
import GreyRaft
import GreyWire

/// A Grey cluster of real nodes in this process, on loopback ports, with links that can be
/// cut: what `cluster-demo` narrates and `cluster-cli` drives. Clients reach the nodes over
/// gRPC exactly as external ones do; only partitions and kills reach inside.
public actor LocalCluster {
    public nonisolated let directory: String
    public nonisolated let links = LinkTable()
    private let electionTimeout: Duration
    private let maxPendingRequests: Int?
    private let log: @Sendable (String) -> Void
    private var nodes: [NodeID: LocalNode] = [:]
    private var channels: [String: GRPCChannel] = [:]

    /// Creates the data directories under `directory`; nothing runs until `start`.
    public init(
        directory: String, electionTimeout: Duration = .milliseconds(150), maxPendingRequests: Int? = nil,
        log: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.directory = directory
        self.electionTimeout = electionTimeout
        self.maxPendingRequests = maxPendingRequests
        self.log = log
    }

    /// Founds a cluster of `size` voters, ids 0..<size.
    public func start(size: Int) async throws {
        precondition(nodes.isEmpty, "the cluster has already started")
        var addresses: [NodeID: String] = [:]
        for index in 0..<size {
            let id = NodeID(UInt64(index))
            let node = try makeNode(id)
            addresses[id] = try await node.bind()
        }
        let founding = GreyRaft.Configuration(voters: Set(addresses.keys), addresses: addresses)
        for id in addresses.keys.sorted() { try await nodes[id]!.start(founding: founding) }
    }

    private func makeNode(_ id: NodeID) throws -> LocalNode {
        let node = try LocalNode(
            id: id, directory: "\(directory)/node-\(id.rawValue)", links: links, electionTimeout: electionTimeout,
            maxPendingRequests: maxPendingRequests, log: log)
        nodes[id] = node
        return node
    }

    /// Every node ever started, running or not.
    public var ids: [NodeID] { nodes.keys.sorted() }

    public func address(of id: NodeID) async throws -> String {
        try await node(id).address
    }

    public func isRunning(_ id: NodeID) async -> Bool {
        await nodes[id]?.isRunning ?? false
    }

    /// The ids of running nodes.
    public func running() async -> [NodeID] {
        var result: [NodeID] = []
        for id in ids where await nodes[id]!.isRunning { result.append(id) }
        return result
    }

    private func node(_ id: NodeID) throws -> LocalNode {
        guard let node = nodes[id] else { throw GRPCStatus(.notFound, "no such member \(id.rawValue)") }
        return node
    }

    // MARK: - Faults

    /// Stops a node as a crash would.
    public func kill(_ id: NodeID) async throws {
        try await node(id).kill()
    }

    /// Starts a stopped node again from its data directory.
    public func restart(_ id: NodeID) async throws {
        let node = try node(id)
        guard await !node.isRunning else { return }
        try await node.start(founding: nil)
    }

    /// Cuts every link between `side` and the other nodes.
    public func partition(_ side: Set<NodeID>) {
        links.partition(side, from: Set(nodes.keys))
    }

    public func heal() {
        links.heal()
    }

    // MARK: - Membership

    /// Starts a new node and has it join through `via`: added as a learner, promoted to
    /// voter once caught up (as `greyd --join` does). Returns its id.
    public func add(via: NodeID) async throws -> NodeID {
        let id = NodeID((nodes.keys.map(\.rawValue).max() ?? 0) + 1)
        let node = try makeNode(id)
        let address = try await node.bind()
        try await node.start(founding: nil)
        let request = JoinClusterRequest(nodeID: id.rawValue, address: address)
        _ = try await call(ClusterMethods.joinCluster, request, on: via, timeout: .seconds(10))
        return id
    }

    /// Removes a member through `via` (LeaveCluster), then stops it.
    public func remove(_ id: NodeID, via: NodeID) async throws {
        _ = try node(id)
        _ = try await call(ClusterMethods.leaveCluster, LeaveClusterRequest(nodeID: id.rawValue), on: via, timeout: .seconds(5))
        try await kill(id)
    }

    // MARK: - Client calls, over gRPC like any client

    public func put(_ key: String, _ value: String, via: NodeID, timeout: Duration = .seconds(2)) async throws -> PutResponse {
        try await call(KVMethods.put, PutRequest(key: Array(key.utf8), value: Array(value.utf8)), on: via, timeout: timeout)
    }

    /// The value under `key` as `via` serves it at `consistency`; nil if absent.
    public func get(_ key: String, via: NodeID, consistency: ReadConsistency = .linearizable, timeout: Duration = .seconds(2)) async throws -> String? {
        let response = try await call(KVMethods.get, GetRequest(key: Array(key.utf8), consistency: consistency), on: via, timeout: timeout)
        return response.found ? String(decoding: response.value, as: UTF8.self) : nil
    }

    public func call<Request, Response>(_ method: GRPCMethod<Request, Response>, _ request: Request, on id: NodeID, timeout: Duration) async throws -> Response {
        let address = try await address(of: id)
        let channel: GRPCChannel
        if let cached = channels[address] {
            channel = cached
        } else {
            channel = try GRPCChannel(target: address)
            channels[address] = channel
        }
        return try await channel.call(method, request, timeout: timeout)
    }

    // MARK: - Observing

    /// Each running node's own view of the cluster.
    public func statuses() async -> [NodeID: GetClusterStatusResponse] {
        var result: [NodeID: GetClusterStatusResponse] = [:]
        for id in ids {
            if let status = await nodes[id]!.status() { result[id] = status }
        }
        return result
    }

    /// Waits until one leader leads every node of `among` (default: the running ones) that can
    /// reach it, in a term they agree on, and returns it; nil when none emerges within `limit`.
    public func awaitLeader(among group: Set<NodeID>? = nil, excluding excluded: NodeID? = nil, within limit: Duration = .seconds(3)) async -> NodeID? {
        let deadline = ContinuousClock.now + limit
        repeat {
            let statuses = await statuses()
            let members = group ?? Set(statuses.keys)
            let views = statuses.filter { members.contains($0.key) }.map(\.value)
            if let first = views.first, first.hasLeader, NodeID(first.leaderID) != excluded,
                members.contains(NodeID(first.leaderID)),
                views.allSatisfy({ $0.hasLeader && $0.leaderID == first.leaderID && $0.term == first.term }),
                statuses[NodeID(first.leaderID)]?.state == .leader
            {
                return NodeID(first.leaderID)
            }
            try? await Task.sleep(for: .milliseconds(10))
        } while ContinuousClock.now < deadline
        return nil
    }

    /// Waits until every node of `group` has applied at least `index`; false on timeout.
    public func awaitApplied(_ index: UInt64, by group: Set<NodeID>, within limit: Duration = .seconds(5)) async -> Bool {
        let deadline = ContinuousClock.now + limit
        repeat {
            let statuses = await statuses()
            if group.allSatisfy({ (statuses[$0]?.appliedIndex ?? 0) >= index }) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        } while ContinuousClock.now < deadline
        return false
    }

    /// Waits until `id` is a voter that has applied everything the leader had committed when
    /// it was promoted; false on timeout.
    public func awaitVoter(_ id: NodeID, within limit: Duration = .seconds(10)) async -> Bool {
        let deadline = ContinuousClock.now + limit
        repeat {
            let statuses = await statuses()
            if let leader = statuses.values.first(where: { $0.state == .leader }),
                leader.members.contains(where: { $0.id == id.rawValue && $0.role == .voter }),
                (statuses[id]?.appliedIndex ?? 0) >= leader.commitIndex
            {
                return true
            }
            try? await Task.sleep(for: .milliseconds(20))
        } while ContinuousClock.now < deadline
        return false
    }

    /// Stops every node and closes client channels; the data directories stay.
    public func shutdown() async {
        for channel in channels.values { await channel.close() }
        channels = [:]
        for node in nodes.values { await node.kill() }
    }
}
