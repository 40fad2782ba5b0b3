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
