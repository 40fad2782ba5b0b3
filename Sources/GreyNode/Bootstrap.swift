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
        let channel = try configuration.channel(to: address)
        defer { Task { await channel.close() } }
        for attempt in 0..<300 {
            let answer: Result<Etcd.StatusResponse, GRPCStatus>
            do {
                answer = .success(try await channel.call(EtcdMaintenanceMethods.status, Etcd.StatusRequest(), timeout: .seconds(5)))
            } catch {
                answer = .failure(error)
            }
            let problem: String
            switch answer {
            case .success(let status):
                if let id = status.header?.clusterID, id != 0 { return id }
                problem = "no cluster id in its answer"
            case .failure(let status) where status.code == .unavailable || status.code == .deadlineExceeded:
                problem = status.message
            case .failure(let status):
                throw status
            }
            // The reason each time: a refused TLS handshake, say, is what the operator must fix.
            if attempt % 10 == 0 { log("waiting for \(address) to say which cluster it belongs to: \(problem)") }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw GRPCStatus(.unavailable, "\(address) did not answer within a minute")
    }

    /// Asks the cluster (through any member) to add this node — its id, advertised address and
    /// join token; retries while no leader answers.
    public static func join(
        via address: String, as configuration: NodeConfiguration, log: @Sendable (String) -> Void
    ) async throws -> [Member] {
        let channel = try configuration.channel(to: address)
        for attempt in 0..<300 {
            let result: Result<JoinClusterResponse, GRPCStatus>
            do {
                result = .success(try await channel.call(
                    ClusterMethods.joinCluster, JoinClusterRequest(nodeID: configuration.id.rawValue, address: configuration.advertiseAddress, joinToken: configuration.joinToken ?? ""), timeout: .seconds(5)))
            } catch {
                result = .failure(error)
            }
            switch result {
            case .success(let response):
                await channel.close()
                return response.members
            case .failure(let status) where status.code == .unavailable || status.code == .deadlineExceeded:
                if attempt % 10 == 0 { log("waiting to join via \(address): \(status.message)") }
                try await Task.sleep(for: .milliseconds(200))
            case .failure(let status):
                await channel.close()
                throw status
            }
        }
        await channel.close()
        throw GRPCStatus(.unavailable, "no leader accepted the join within a minute")
    }
}
