import GreyRPC
import GreyRaft
import GreyStorage
import GreyWire

/// Forms the founding membership from peer addresses: asks each peer who it is
/// (GetClusterStatus answers with the node id even while that node is still starting),
/// then records the membership so a restart needs no peer to be up.
public enum Bootstrap {
    /// The founding membership: from storage if this node has formed before, else discovered.
    public static func configuration(
        for configuration: NodeConfiguration, storage: RaftStorage, log: @Sendable (String) -> Void
    ) async throws -> GreyRaft.Configuration {
        if let saved = try storage.bootstrapConfiguration() { return saved }
        var addresses = [configuration.id: configuration.advertiseAddress]
        for peer in configuration.peers {
            let channel = try configuration.channel(to: peer)
            var attempts = 0
            while true {
                if let status = try? await channel.call(ClusterMethods.getClusterStatus, GetClusterStatusRequest(), timeout: .seconds(1)) {
                    let id = NodeID(status.nodeID)
                    guard id != configuration.id, addresses[id] == nil else {
                        throw GRPCStatus(.failedPrecondition, "peer \(peer) also claims node id \(id.rawValue): every node needs its own GREY_NODE_ID")
                    }
                    addresses[id] = peer
                    break
                }
                if attempts % 25 == 0 { log("waiting for peer \(peer) to answer") }
                attempts += 1
                try await Task.sleep(for: .milliseconds(200))
            }
            await channel.close()
        }
        let founding = GreyRaft.Configuration(voters: Set(addresses.keys), addresses: addresses)
        try storage.saveBootstrapConfiguration(founding)
        return founding
    }

    /// The id of the cluster `address` belongs to (the header of etcd's Maintenance Status), so
    /// that a joiner answers etcd clients with the same cluster id as the founders; retries
    /// while the member does not answer.
    public static func clusterID(
        via address: String, as configuration: NodeConfiguration, log: @Sendable (String) -> Void
    ) async throws -> UInt64 {
        try await retrying(
            address, as: configuration, waiting: "waiting for \(address) to say which cluster it belongs to",
            giveUp: "\(address) did not answer within a minute", log: log
        ) { (channel) async throws(GRPCStatus) -> Result<UInt64, Wanting> in
            let status = try await channel.call(EtcdMaintenanceMethods.status, Etcd.StatusRequest(), timeout: .seconds(5))
            guard let id = status.header?.clusterID, id != 0 else { return .failure("no cluster id in its answer") }
            return .success(id)
        }
    }

    /// Asks the cluster (through any member) to add this node — its id, advertised address and
    /// join token; retries while no leader answers.
    public static func join(
        via address: String, as configuration: NodeConfiguration, log: @Sendable (String) -> Void
    ) async throws -> [Member] {
        let request = JoinClusterRequest(nodeID: configuration.id.rawValue, address: configuration.advertiseAddress, joinToken: configuration.joinToken ?? "")
        return try await retrying(
            address, as: configuration, waiting: "waiting to join via \(address)",
            giveUp: "no leader accepted the join within a minute", log: log
        ) { (channel) async throws(GRPCStatus) -> Result<[Member], Wanting> in
            .success(try await channel.call(ClusterMethods.joinCluster, request, timeout: .seconds(5)).members)
        }
    }

    /// Calls `attempt` on a channel to `address` every 200 ms, for up to a minute, while the
    /// member is unreachable or answers UNAVAILABLE or DEADLINE_EXCEEDED (no leader yet, still
    /// starting) or `attempt` finds the answer wanting; logs `waiting` with the reason every
    /// 2 s (a refused TLS handshake, say, is what the operator must fix). Any other status ends it.
    private static func retrying<T: Sendable>(
        _ address: String, as configuration: NodeConfiguration, waiting: String, giveUp: String,
        log: @Sendable (String) -> Void, _ attempt: (GRPCChannel) async throws(GRPCStatus) -> Result<T, Wanting>
    ) async throws -> T {
        let channel = try configuration.channel(to: address)
        for number in 0..<300 {
            let answer: Result<Result<T, Wanting>, GRPCStatus>
            do {
                answer = .success(try await attempt(channel))
            } catch {
                answer = .failure(error)
            }
            let problem: String
            switch answer {
            case .success(.success(let value)):
                await channel.close()
                return value
            case .success(.failure(let wanting)):
                problem = wanting.reason
            case .failure(let status) where status.code == .unavailable || status.code == .deadlineExceeded:
                problem = status.message
            case .failure(let status):
                await channel.close()
                throw status
            }
            if number % 10 == 0 { log("\(waiting): \(problem)") }
            try await Task.sleep(for: .milliseconds(200))
        }
        await channel.close()
        throw GRPCStatus(.unavailable, giveUp)
    }

    /// An answer that came but lacked what was asked for: worth asking again.
    struct Wanting: Error, ExpressibleByStringLiteral {
        let reason: String
        init(stringLiteral reason: String) { self.reason = reason }
    }
}
