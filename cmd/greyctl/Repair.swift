import ArgumentParser
import Foundation
import GreyRPC
import GreyRaft
import GreyStorage
import GreyWire

/// `greyctl repair --data-dir D`: rebuilds a stopped node whose data is damaged (or that was
/// quarantined) from the leader, keeping its node id and address.
///
/// A node that lost what it wrote cannot simply rejoin as the voter it was: the leader still
/// counts the entries it acknowledged (a committed entry could then rest on fewer disks than a
/// majority), and with its log gone it would vote for a candidate missing them. So the node
/// leaves the configuration, its damaged directory is moved aside, a fresh one is seeded with
/// its identity and the cluster's id, and it is added back as a learner: the leader's progress
/// for it starts from nothing, it receives the leader's snapshot and log, and it becomes a
/// voter again only once it has caught up — the same path a joining node takes.
struct Repair: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild a stopped node's damaged data from the leader, keeping its id and address.",
        discussion: """
            Stop the node first. Its data directory is moved aside (D.damaged-TIME), a fresh one \
            keeps its identity, and the cluster (reached through --endpoints) removes and re-adds \
            it as a learner. Start greyd as before: it receives the leader's snapshot and becomes \
            a voter again once caught up. --node-id and --address stand in for what a directory \
            too damaged to open cannot say.
            """)
    @OptionGroup var options: ClientOptions
    @Option(name: .customLong("data-dir"), help: "The stopped node's data directory.") var dataDir: String
    @Option(name: .customLong("node-id"), help: "The node's id, when its directory cannot be read.") var nodeID: UInt64?
    @Option(help: "The node's address (host:port), when the cluster does not list it any more.") var address: String?
    @Flag(help: "Remove it even if the voters left that the leader hears from are not a majority.") var force = false
    @Option(name: .customLong("join-token"), help: "The cluster's join token, if it has one (GREY_JOIN_TOKEN).") var joinToken: String?

    func run() async throws {
        try await reporting {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dataDir, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("no data directory at \(dataDir)")
            }
            // What the directory still says about the node (nothing, if it is too damaged to open).
            var knownID: NodeID?
            var knownClusterID: UInt64?
            do {
                let damaged = try RaftStorage(existingDirectory: dataDir)
                knownID = try? damaged.nodeID()
                knownClusterID = try? damaged.clusterID()
            } catch {
                // RocksDB's words when another process holds the directory's LOCK file.
                if "\(error)".contains("While lock file") {
                    throw ValidationError("\(dataDir) is in use: stop its greyd first")
                }
            }
            if let nodeID, let knownID, knownID.rawValue != nodeID {
                throw ValidationError("\(dataDir) holds node \(knownID.rawValue), not node \(nodeID)")
            }
            guard let id = knownID?.rawValue ?? nodeID else {
                throw ValidationError("\(dataDir) does not say which node it holds: give --node-id")
            }

            let status = try await options.call(ClusterMethods.getClusterStatus, GetClusterStatusRequest())
            let listed = status.members.first { $0.id == id }
            guard let nodeAddress = listed?.address ?? address else {
                throw ValidationError("the cluster does not list node \(id) (removed already?): give --address host:port")
            }
            let clusterID: UInt64
            if let knownClusterID {
                clusterID = knownClusterID
            } else {
                guard let fromCluster = try await options.call(EtcdMaintenanceMethods.status, Etcd.StatusRequest()).header?.clusterID, fromCluster != 0 else {
                    throw CLIError(GRPCStatus(.unavailable, "the cluster did not say its id"))
                }
                clusterID = fromCluster
            }

            if listed != nil {
                _ = try await options.call(ClusterMethods.leaveCluster, LeaveClusterRequest(nodeID: id, force: force, joinToken: token(joinToken)))
            }
            let aside = try Self.moveAside(dataDir)
            try Self.seed(dataDir, id: NodeID(id), clusterID: clusterID, ownerOf: aside)
            let response = try await options.call(
                ClusterMethods.joinCluster, JoinClusterRequest(nodeID: id, address: nodeAddress, asLearner: false, joinToken: token(joinToken)))
            if options.output == .json {
                printJSON(["node_id": id, "address": nodeAddress, "damaged_data": aside, "members": response.members.map { ["id": $0.id, "role": $0.role == .voter ? "voter" : "learner"] }])
            } else {
                print("node \(id) rebuilt at \(dataDir) (its damaged data moved to \(aside)); added back at \(nodeAddress) as a learner.")
                print("Start its greyd as before: it receives the leader's snapshot and becomes a voter once caught up.")
            }
        }
    }

    /// Renames the damaged directory beside itself; returns the new path.
    static func moveAside(_ directory: String) throws -> String {
        let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
        let aside = directory.hasSuffix("/") ? String(directory.dropLast()) + ".damaged-\(stamp)" : directory + ".damaged-\(stamp)"
        do {
            try FileManager.default.moveItem(atPath: directory, toPath: aside)
        } catch {
            throw ValidationError("cannot move \(directory) aside to \(aside): \(error.localizedDescription)")
        }
        return aside
    }

    /// A fresh data directory for node `id` of cluster `clusterID` that has not joined yet
    /// (an empty founding membership, as `greyd --join` leaves it), owned as `ownerOf` was:
    /// greyd usually runs as a user of its own, greyctl repair as root.
    static func seed(_ directory: String, id: NodeID, clusterID: UInt64, ownerOf original: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
            do {
                let storage = try RaftStorage(directory: directory, nodeID: id)
                try storage.saveClusterID(clusterID)
                try storage.saveBootstrapConfiguration(GreyRaft.Configuration(voters: []))
            }
            let attributes = try FileManager.default.attributesOfItem(atPath: original)
            if let owner = attributes[.ownerAccountID] as? NSNumber, let group = attributes[.groupOwnerAccountID] as? NSNumber {
                let files = [directory] + (FileManager.default.subpaths(atPath: directory) ?? []).map { directory + "/" + $0 }
                for file in files { chown(file, uid_t(owner.uint32Value), gid_t(group.uint32Value)) }
                if let permissions = attributes[.posixPermissions] { try FileManager.default.setAttributes([.posixPermissions: permissions], ofItemAtPath: directory) }
            }
        } catch let error as ValidationError {
            throw error
        } catch {
            throw ValidationError("cannot seed \(directory): \(error)")
        }
    }
}
