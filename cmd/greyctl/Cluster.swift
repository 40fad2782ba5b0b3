import ArgumentParser
import Foundation
import GreyRPC
import GreyWire

struct Cluster: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect and change the cluster.",
        subcommands: [Status.self, Leader.self, Members.self, LogStatus.self, Replication.self, AddMember.self, RemoveMember.self, Quarantine.self, Promote.self, TransferLeader.self])

    static func printMembers(_ options: ClientOptions, _ members: [Member]) {
        if options.output == .json {
            printJSON(members.map { ["id": $0.id, "address": $0.address, "role": $0.role == .voter ? "voter" : "learner"] })
        } else {
            printTable(["ID", "ADDRESS", "ROLE"], members.map { ["\($0.id)", $0.address, $0.role == .voter ? "voter" : "learner"] })
        }
    }

    struct AddMember: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-member",
            abstract: "Add the node listening at ADDR (started with --join, or waiting to be added).",
            discussion: "It joins as a learner and is promoted to voter once caught up, unless --learner.")
        @OptionGroup var options: ClientOptions
        @Argument var address: String
        @Flag(help: "Keep it a non-voting learner.") var learner = false
        @Option(name: .customLong("join-token"), help: "The cluster's join token, if it has one (GREY_JOIN_TOKEN).") var joinToken: String?

        func run() async throws {
            try await reporting {
                var target = options
                target.endpoints = address
                let identity = try await target.call(ClusterMethods.getClusterStatus, GetClusterStatusRequest())
                let response = try await options.call(
                    ClusterMethods.joinCluster, JoinClusterRequest(
                        nodeID: identity.nodeID, address: address, asLearner: learner, joinToken: token(joinToken)))
                Cluster.printMembers(options, response.members)
            }
        }
    }

    struct RemoveMember: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "remove-member", abstract: "Remove node ID from the cluster.")
        @OptionGroup var options: ClientOptions
        @Argument var id: UInt64
        @Flag(help: "Remove it even if the voters left that the leader hears from are not a majority (the cluster then commits nothing until enough come back).") var force = false
        @Option(name: .customLong("join-token"), help: "The cluster's join token, if it has one (GREY_JOIN_TOKEN).") var joinToken: String?

        func run() async throws {
            try await reporting {
                let response = try await options.call(ClusterMethods.leaveCluster, LeaveClusterRequest(nodeID: id, force: force, joinToken: token(joinToken)))
                Cluster.printMembers(options, response.members)
            }
        }
    }

    struct Quarantine: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Take node ID out of the cluster at once: it stops voting and serving; `greyctl repair` rebuilds it with its id.",
            discussion: "For a node whose data or disk is suspect. The cluster keeps its quorum (refused otherwise, unless --force); the node logs that it was removed and answers clients UNAVAILABLE. Stop it, then run greyctl repair --data-dir on its directory: it comes back as a learner with the same id and address, receives the leader's snapshot, and is promoted once caught up.")
        @OptionGroup var options: ClientOptions
        @Argument var id: UInt64
        @Flag(help: "Quarantine it even if the voters left that the leader hears from are not a majority.") var force = false
        @Option(name: .customLong("join-token"), help: "The cluster's join token, if it has one (GREY_JOIN_TOKEN).") var joinToken: String?

        func run() async throws {
            try await reporting {
                let status = try await options.call(ClusterMethods.getClusterStatus, GetClusterStatusRequest())
                guard let member = status.members.first(where: { $0.id == id }) else {
                    throw CLIError(GRPCStatus(.notFound, "no such member \(id)"))
                }
                let response = try await options.call(ClusterMethods.leaveCluster, LeaveClusterRequest(nodeID: id, force: force, joinToken: token(joinToken)))
                if options.output == .json {
                    printJSON(["quarantined": id, "address": member.address, "members": response.members.map { ["id": $0.id, "address": $0.address] }])
                } else {
                    print("node \(id) (\(member.address)) quarantined: out of the cluster, it no longer votes or serves.")
                    print("To rebuild it with its id: stop it, then greyctl repair --data-dir DIR --endpoints \(options.endpointList.joined(separator: ",")) --address \(member.address)")
                }
            }
        }
    }

    struct Promote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make learner ID a voter.")
        @OptionGroup var options: ClientOptions
        @Argument var id: UInt64

        func run() async throws {
            try await reporting {
                let response = try await options.call(ClusterMethods.promoteMember, PromoteMemberRequest(nodeID: id))
                Cluster.printMembers(options, response.members)
            }
        }
    }

    struct TransferLeader: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "transfer-leader", abstract: "Hand leadership to voter ID (for rolling upgrades).")
        @OptionGroup var options: ClientOptions
        @Argument var id: UInt64

        func run() async throws {
            try await reporting {
                _ = try await options.call(ClusterMethods.transferLeadership, TransferLeadershipRequest(targetID: id))
                for _ in 0..<50 {
                    let status = try await options.call(ClusterMethods.getClusterStatus, GetClusterStatusRequest())
                    if status.hasLeader && status.leaderID == id {
                        print("leader: node \(id) (term \(status.term))")
                        return
                    }
                    try await Task.sleep(for: .milliseconds(50))
                }
                throw CLIError(GRPCStatus(.deadlineExceeded, "node \(id) did not take over"))
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Leader, term and every node's role and log index.")
        @OptionGroup var options: ClientOptions

        func run() async throws {
            try await reporting {
                let statuses = try await options.statuses()
                if options.output == .json {
                    printJSON(statuses.map { endpoint, result -> [String: Any] in
                        switch result {
                        case .success(let status): return ["endpoint": endpoint, "node_id": status.nodeID, "state": status.state.name, "term": status.term, "leader_id": status.leaderID, "has_leader": status.hasLeader, "commit_index": status.commitIndex, "last_log_index": status.lastLogIndex, "applied_index": status.appliedIndex]
                        case .failure(let error): return ["endpoint": endpoint, "error": CLIError(error).description]
                        }
                    })
                    return
                }
                printTable(["ENDPOINT", "NODE", "STATE", "TERM", "LEADER", "COMMIT", "LAST LOG", "APPLIED"], statuses.map { endpoint, result in
                    switch result {
                    case .success(let s): [endpoint, "\(s.nodeID)", s.state.name, "\(s.term)", s.hasLeader ? "\(s.leaderID)" : "none", "\(s.commitIndex)", "\(s.lastLogIndex)", "\(s.appliedIndex)"]
                    case .failure(let error): [endpoint, "-", "down", "-", "-", "-", "-", CLIError(error).description]
                    }
                })
                if !statuses.contains(where: { if case .success = $0.1 { true } else { false } }) {
                    throw ValidationError("no endpoint answered")
                }
            }
        }
    }

    struct Leader: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Which node leads.")
        @OptionGroup var options: ClientOptions

        func run() async throws {
            try await reporting {
                let status = try await options.call(ClusterMethods.getClusterStatus, GetClusterStatusRequest())
                guard status.hasLeader else { throw CLIError(GRPCStatus(.unavailable, "no leader")) }
                let address = status.members.first { $0.id == status.leaderID }?.address ?? "?"
                if options.output == .json {
                    printJSON(["leader_id": status.leaderID, "address": address, "term": status.term])
                } else {
                    print("leader: node \(status.leaderID) at \(address) (term \(status.term))")
                }
            }
        }
    }

    struct Members: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The membership.")
        @OptionGroup var options: ClientOptions

        func run() async throws {
            try await reporting {
                let status = try await options.call(ClusterMethods.getClusterStatus, GetClusterStatusRequest())
                if options.output == .json {
                    printJSON(status.members.map { ["id": $0.id, "address": $0.address, "role": $0.role == .voter ? "voter" : "learner", "state": $0.state.name] })
                    return
                }
                printTable(["ID", "ADDRESS", "ROLE", "STATE"], status.members.map {
                    ["\($0.id)", $0.address, $0.role == .voter ? "voter" : "learner", $0.state.name]
                })
            }
        }
    }

    struct Replication: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "How the leader replicates to each member: match and next index, lag, last contact, flow state.",
            discussion: "Asks the leader (found through any endpoint). STATE is probe (finding where the member's log ends), replicate (appends pipelined) or snapshot (a snapshot is on its way); LAST CONTACT is since the member last answered the leader.")
        @OptionGroup var options: ClientOptions

        func run() async throws {
            try await reporting {
                var status = try await options.call(ClusterMethods.getClusterStatus, GetClusterStatusRequest())
                guard status.hasLeader else { throw CLIError(GRPCStatus(.unavailable, "no leader")) }
                if status.leaderID != status.nodeID {
                    guard let address = status.members.first(where: { $0.id == status.leaderID })?.address, !address.isEmpty else {
                        throw CLIError(GRPCStatus(.unavailable, "the leader's address is not known"))
                    }
                    var atLeader = options
                    atLeader.endpoints = address
                    status = try await atLeader.call(ClusterMethods.getClusterStatus, GetClusterStatusRequest())
                    guard status.leaderID == status.nodeID else { throw CLIError(GRPCStatus(.unavailable, "leadership changed; try again")) }
                }
                let followers = status.members.filter { $0.id != status.nodeID }
                func lag(_ member: Member) -> UInt64 { status.lastLogIndex - min(status.lastLogIndex, member.matchIndex) }
                func contact(_ member: Member) -> String {
                    let ms = member.sinceContactMilliseconds
                    return ms < 0 ? "never (this term)" : ms < 1000 ? "\(ms)ms ago" : String(format: "%.1fs ago", Double(ms) / 1000)
                }
                if options.output == .json {
                    printJSON([
                        "leader_id": status.nodeID, "term": status.term, "last_log_index": status.lastLogIndex, "commit_index": status.commitIndex,
                        "followers": followers.map { member -> [String: Any] in
                            ["id": member.id, "address": member.address, "role": member.role == .voter ? "voter" : "learner",
                             "match_index": member.matchIndex, "next_index": member.nextIndex, "lag": lag(member),
                             "state": member.replication.name, "since_contact_ms": member.sinceContactMilliseconds, "inflight": member.inflight]
                        },
                    ])
                    return
                }
                print("leader: node \(status.nodeID), term \(status.term), last log index \(status.lastLogIndex), commit \(status.commitIndex)")
                printTable(["NODE", "ADDRESS", "ROLE", "MATCH", "NEXT", "LAG", "STATE", "LAST CONTACT", "INFLIGHT"], followers.map {
                    ["\($0.id)", $0.address, $0.role == .voter ? "voter" : "learner", "\($0.matchIndex)", "\($0.nextIndex)", "\(lag($0))",
                     $0.replication == .none ? "-" : $0.replication.name, contact($0), "\($0.inflight)"]
                })
            }
        }
    }

    struct LogStatus: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "log-status", abstract: "commit_index / last_log_index per node.")
        @OptionGroup var options: ClientOptions

        func run() async throws {
            try await reporting {
                let statuses = try await options.statuses()
                if options.output == .json {
                    printJSON(statuses.compactMap { endpoint, result -> [String: Any]? in
                        guard case .success(let s) = result else { return ["endpoint": endpoint, "error": "unreachable"] }
                        return ["endpoint": endpoint, "node_id": s.nodeID, "commit_index": s.commitIndex, "last_log_index": s.lastLogIndex, "applied_index": s.appliedIndex]
                    })
                    return
                }
                printTable(["ENDPOINT", "NODE", "COMMIT", "LAST LOG", "APPLIED"], statuses.map { endpoint, result in
                    guard case .success(let s) = result else { return [endpoint, "-", "-", "-", "unreachable"] }
                    return [endpoint, "\(s.nodeID)", "\(s.commitIndex)", "\(s.lastLogIndex)", "\(s.appliedIndex)"]
                })
            }
        }
    }
}

/// `--join-token`, else GREY_JOIN_TOKEN, else none.
func token(_ flag: String?) -> String {
    flag ?? ProcessInfo.processInfo.environment["GREY_JOIN_TOKEN"] ?? ""
}
