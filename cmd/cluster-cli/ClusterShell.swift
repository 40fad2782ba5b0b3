import Foundation
import GreyLocalCluster
import GreyRPC
import GreyRaft
import GreyWire

/// The commands of cluster-cli. Each prints its answer, or one line starting with "error:";
/// `failures` counts those, so a script run through the CLI can tell that one went wrong.
final class ClusterShell: @unchecked Sendable {
    // @unchecked Sendable: used from the main loop only, one command at a time.
    private var cluster: LocalCluster?
    private var directory: String?
    private(set) var failures = 0

    static let help = """
        init N                  start a cluster of N nodes (ids 0..N-1) on loopback ports
        status                  every node: address, state, term, commit/applied index, leader
        leader                  the leader every running node agrees on
        put KEY VALUE [via ID]  write through node ID (default: any running node)
        get KEY [via ID] [linearizable|lease|stale]
        add                     start a new node and join it (learner, then voter once caught up)
        remove ID               remove member ID (LeaveCluster) and stop it
        kill ID                 stop node ID as a crash would
        restart ID              start a killed node again from its data
        partition IDS           cut IDS (e.g. 0,1) off from the other nodes
        heal                    restore every link
        sleep MS                wait MS milliseconds (for scripts: let followers learn a commit)
        stop                    stop the cluster and delete its data
        quit                    leave (also Ctrl-D)
        """

    func run(_ words: [String]) async {
        do {
            try await dispatch(words[0], Array(words.dropFirst()))
        } catch let error as GRPCStatus {
            report(error.code == .deadlineExceeded ? "no answer within the deadline (is a majority reachable?)" : error.message)
        } catch {
            report("\(error)")
        }
    }

    private func report(_ message: String) {
        failures += 1
        print("error: \(message)")
    }

    private func dispatch(_ command: String, _ arguments: [String]) async throws {
        switch (command, arguments.count) {
        case ("help", _):
            print(Self.help)
        case ("init", 1):
            guard cluster == nil else { throw ShellError("a cluster is running; 'stop' it first") }
            guard let size = Int(arguments[0]), (1...9).contains(size) else { throw ShellError("init takes a node count from 1 to 9") }
            let directory = NSTemporaryDirectory() + "grey-cli-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))"
            let cluster = LocalCluster(directory: directory)
            self.cluster = cluster
            self.directory = directory
            try await cluster.start(size: size)
            let leader = await cluster.awaitLeader(within: .seconds(5))
            print("started \(size) nodes, data in \(directory); leader: \(leader.map { "node \($0.rawValue)" } ?? "none yet")")
        case ("status", 0):
            try await status()
        case ("leader", 0):
            let cluster = try running()
            guard let leader = await cluster.awaitLeader(within: .seconds(2)) else { throw ShellError("no leader that every running node agrees on") }
            print("leader: node \(leader.rawValue) at \(try await cluster.address(of: leader))")
        case ("put", 2), ("put", 4):
            let cluster = try running()
            let via = try await node(arguments.count == 4 ? Array(arguments[2...]) : [], in: cluster)
            let response = try await cluster.put(arguments[0], arguments[1], via: via)
            print("OK (applied index \(response.header?.appliedIndex ?? 0), via node \(via.rawValue))")
        case ("get", 1...4):
            let cluster = try running()
            var rest = Array(arguments.dropFirst())
            var consistency = ReadConsistency.linearizable
            if let last = rest.last, let level = Self.consistency(last) {
                consistency = level
                rest.removeLast()
            }
            let via = try await node(rest, in: cluster)
            let value = try await cluster.get(arguments[0], via: via, consistency: consistency)
            print(value ?? "(not found)")
        case ("add", 0):
            let cluster = try running()
            guard let leader = await cluster.awaitLeader(within: .seconds(2)) else { throw ShellError("no leader to add the node through") }
            let id = try await cluster.add(via: leader)
            let address = try await cluster.address(of: id)
            if await cluster.awaitVoter(id, within: .seconds(10)) {
                print("node \(id.rawValue) at \(address) joined as a learner, caught up and was promoted to voter")
            } else {
                print("node \(id.rawValue) at \(address) joined as a learner; not yet caught up and promoted after 10 s")
            }
        case ("remove", 1):
            let cluster = try running()
            let id = try Self.id(arguments[0])
            let via = await cluster.awaitLeader(within: .seconds(2)) ?? id
            try await cluster.remove(id, via: via)
            print("node \(id.rawValue) removed and stopped")
        case ("kill", 1):
            let cluster = try running()
            let id = try Self.id(arguments[0])
            try await cluster.kill(id)
            print("node \(id.rawValue) killed")
        case ("restart", 1):
            let cluster = try running()
            let id = try Self.id(arguments[0])
            try await cluster.restart(id)
            print("node \(id.rawValue) restarted")
        case ("partition", 1...):
            let cluster = try running()
            let ids = try arguments.joined(separator: ",").split(separator: ",").map { try Self.id(String($0)) }
            let known = Set(await cluster.ids)
            if let unknown = ids.first(where: { !known.contains($0) }) { throw ShellError("no such member \(unknown.rawValue)") }
            await cluster.partition(Set(ids))
            print("cut {\(ids.map { String($0.rawValue) }.joined(separator: ", "))} off from the other nodes")
        case ("heal", 0):
            try await running().heal()
            print("every link restored")
        case ("sleep", 1):
            guard let milliseconds = Int(arguments[0]), (0...60_000).contains(milliseconds) else {
                throw ShellError("sleep takes milliseconds, 0 to 60000")
            }
            try await Task.sleep(for: .milliseconds(milliseconds))
        case ("stop", 0):
            try running()
            await shutdown()
            print("cluster stopped, data deleted")
        default:
            throw ShellError("unknown command or wrong arguments: '\(([command] + arguments).joined(separator: " "))' (try 'help')")
        }
    }

    private func status() async throws {
        let cluster = try running()
        let statuses = await cluster.statuses()
        let partitioned = cluster.links
        var rows: [[String]] = []
        for id in await cluster.ids {
            let address = try await cluster.address(of: id)
            guard let status = statuses[id] else {
                rows.append([String(id.rawValue), address, "down", "", "", "", "", ""])
                continue
            }
            let cut = await cluster.ids.filter { $0 != id && partitioned.isCut(id, $0) }.map { String($0.rawValue) }
            rows.append([
                String(id.rawValue), address, status.state.name, String(status.term), String(status.commitIndex),
                String(status.appliedIndex), status.hasLeader ? String(status.leaderID) : "-",
                cut.isEmpty ? "" : "cut from " + cut.joined(separator: ","),
            ])
        }
        printTable(["ID", "ADDRESS", "STATE", "TERM", "COMMIT", "APPLIED", "LEADER", "LINKS"], rows)
    }

    @discardableResult
    private func running() throws -> LocalCluster {
        guard let cluster else { throw ShellError("no cluster; start one with 'init 3'") }
        return cluster
    }

    /// The node named by `via ID`, or else the first running node.
    private func node(_ words: [String], in cluster: LocalCluster) async throws -> NodeID {
        if words.isEmpty {
            guard let first = await cluster.running().first else { throw ShellError("no node is running") }
            return first
        }
        guard words.count == 2, words[0] == "via" else { throw ShellError("expected 'via ID', got '\(words.joined(separator: " "))'") }
        let id = try Self.id(words[1])
        guard await cluster.ids.contains(id) else { throw ShellError("no such member \(id.rawValue)") }
        guard await cluster.isRunning(id) else { throw ShellError("node \(id.rawValue) is not running") }
        return id
    }

    func shutdown() async {
        await cluster?.shutdown()
        if let directory { try? FileManager.default.removeItem(atPath: directory) }
        cluster = nil
        directory = nil
    }

    static func id(_ text: String) throws -> NodeID {
        guard let value = UInt64(text) else { throw ShellError("'\(text)' is not a node id") }
        return NodeID(value)
    }

    static func consistency(_ word: String) -> ReadConsistency? {
        switch word {
        case "linearizable": .linearizable
        case "lease": .lease
        case "stale": .stale
        default: nil
        }
    }
}

struct ShellError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func printTable(_ header: [String], _ rows: [[String]]) {
    let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
    func line(_ cells: [String]) -> String {
        zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
            .trimmingCharacters(in: .whitespaces)
    }
    print(line(header))
    rows.forEach { print(line($0)) }
}
