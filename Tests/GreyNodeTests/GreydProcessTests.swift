import Foundation
import GreyRPC
import GreyTestSupport
import GreyWire
import NIOCore
import NIOSSL
import Synchronization
import Testing

/// Real `greyd` processes on loopback, as a user starts them.
final class GreydCluster: @unchecked Sendable {
    // @unchecked Sendable: used from one test at a time; processes are only touched by it.
    let basePort: Int
    let directory: URL
    var processes: [Int: Process] = [:]
    let count: Int
    /// Settings every node gets, on top of id, addresses and data directory.
    let settings: [String: String]
    /// TLS for the test's own calls to a TLS cluster; nil for cleartext.
    var clientTLS: NIOSSLContext?
    /// Run each node as its own unprivileged user (uid 60000 + node), as a real deployment
    /// does; when the tests are not root they already are unprivileged and run as themselves.
    let unprivileged: Bool
    /// The test's channels to the nodes (`channel(_:)`), by address and TLS setting.
    private let openChannels = Mutex<[String: GRPCChannel]>([:])

    static let binary = RepositoryPaths.root.appendingPathComponent(".build/debug/greyd")
    /// How long the tests' own connections may take to connect: the 1 s default suits a
    /// node reaching its peers, but the suites run side by side on 2 cores, and a clean-clone
    /// run saw a test's connect to a live node time out at 1 s.
    static let connectTimeout: TimeAmount = .seconds(5)

    /// Starts `count` nodes; with `restoringFrom`, each node's directory is first seeded from
    /// that backup by `greyctl snapshot restore`.
    init(count: Int, settings: [String: String] = [:], restoringFrom backup: String? = nil, unprivileged: Bool = true) throws {
        self.count = count
        self.settings = settings
        self.unprivileged = unprivileged && getuid() == 0
        _ = Self.orphansSwept
        basePort = TestPorts.reserve(10)  // room for nodes that join later
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("greyd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: self.unprivileged ? 0o777 : 0o755])
        if let backup {
            for node in 0..<count {
                let restore = Process()
                restore.executableURL = FsckTests.greyctl
                restore.arguments = ["snapshot", "restore", "--input", backup, "--data-dir", directory.appendingPathComponent("node-\(node)").path]
                restore.standardOutput = FileHandle.nullDevice
                try restore.run()
                restore.waitUntilExit()
                guard restore.terminationStatus == 0 else { throw GRPCStatus(.internal, "greyctl snapshot restore failed for node \(node)") }
                if self.unprivileged {
                    // Restored by root, as an operator might; handed to the node's own user.
                    let chown = Process()
                    chown.executableURL = URL(fileURLWithPath: "/bin/chown")
                    chown.arguments = ["-R", "\(60_000 + node):\(60_000 + node)", directory.appendingPathComponent("node-\(node)").path]
                    try chown.run()
                    chown.waitUntilExit()
                }
            }
        }
        for node in 0..<count { try start(node) }
    }

    func address(_ node: Int) -> String { "127.0.0.1:\(basePort + node)" }

    /// How many nodes an earlier, crashed test run left behind, killed before this run's first
    /// cluster starts. A test process that crashes takes none of its greyd with it: fourteen
    /// kept running for over an hour once, dialling their dead peers' ports, and the next run's
    /// clusters on those ports failed eight process tests. Only orphans (adopted by PID 1) of
    /// this very build's binary are killed, also when it was rebuilt since: another run's nodes
    /// are its children, and another tree's build is another path.
    static let orphansSwept: Int = {
        let killed = sweepOrphans()
        if !killed.isEmpty { print("killed \(killed.count) greyd left running by an earlier test run: \(killed)") }
        return killed.count
    }()

    /// Kills every orphaned greyd of this build (`orphansSwept`); returns their process ids.
    static func sweepOrphans() -> [Int32] {
        let ours = binary.resolvingSymlinksInPath().path
        var killed: [Int32] = []
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry),
                let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe"),
                executable == ours || executable == ours + " (deleted)",
                let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
                status.split(separator: "\n").contains("PPid:\t1")
            else { continue }
            Foundation.kill(pid, SIGKILL)
            killed.append(pid)
        }
        return killed
    }

    /// Starts a one-node greyd outside any cluster, its output discarded.
    static func startAlone(id: Int, port: Int, directory: String) throws -> Process {
        let process = Process()
        process.executableURL = binary
        process.arguments = ["--node-id", String(id), "--listen", "127.0.0.1:\(port)", "--data-dir", directory]
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Waits (up to `limit`, generous for the same reason as `waitForLeader`) until a greyd on
    /// `port` leads its own one-node cluster.
    static func waitUntilServing(port: Int, within limit: Duration = .seconds(30)) async throws {
        let channel = try GreydCluster.channel(port: port)
        defer { Task { await channel.close() } }
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if let status = try? await channel.call(ClusterMethods.getClusterStatus, GetClusterStatusRequest(), timeout: .milliseconds(300)),
                status.hasLeader
            {
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw GRPCStatus(.unavailable, "greyd on port \(port) did not start serving within \(limit)")
    }

    func start(_ node: Int, joining member: Int? = nil, extra: [String: String] = [:]) throws {
        let process = Process()
        if unprivileged {
            let user = 60_000 + node
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid=\(user)", "--regid=\(user)", "--clear-groups", Self.binary.path]
        } else {
            process.executableURL = Self.binary
        }
        var environment = ProcessInfo.processInfo.environment.merging(settings) { $1 }.merging(extra) { $1 }
        environment["GREY_NODE_ID"] = extra["GREY_NODE_ID"] ?? String(node)
        environment["GREY_LISTEN_ADDR"] = address(node)
        if let member {
            environment["GREY_JOIN"] = address(member)
        } else {
            environment["GREY_CLUSTER_PEERS"] = (0..<count).filter { $0 != node }.map(address).joined(separator: ",")
        }
        environment["GREY_DATA_DIR"] = directory.appendingPathComponent("node-\(node)").path
        process.environment = environment
        let log = directory.appendingPathComponent("node-\(node).log")
        if !FileManager.default.fileExists(atPath: log.path) { _ = FileManager.default.createFile(atPath: log.path, contents: nil) }
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        process.standardError = handle
        process.standardOutput = handle
        try process.run()
        processes[node] = process
    }

    /// Waits until every running node has applied what the leader had committed when this was
    /// called. After it, a stale read on each node shows that node's own copy; a linearizable
    /// read on a follower would be forwarded to the leader and never look at the follower's data.
    func waitUntilAllApplied(within limit: Duration = .seconds(30)) async throws {
        let leader = try await waitForLeader(within: limit)
        let target = try await channel(leader).call(ClusterMethods.getClusterStatus, GetClusterStatusRequest(), timeout: .seconds(2)).commitIndex
        let deadline = ContinuousClock.now + limit
        for node in processes.keys.sorted() {
            while true {
                let status = try? await channel(node).call(ClusterMethods.getClusterStatus, GetClusterStatusRequest(), timeout: .milliseconds(500))
                if let status, status.appliedIndex >= target { break }
                guard ContinuousClock.now < deadline else {
                    throw GRPCStatus(.deadlineExceeded, "node \(node) did not apply through \(target) within \(limit)")
                }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    /// Waits until node `node`'s log contains `text` (an event the test waits for instead of a sleep).
    func waitForLog(_ node: Int, containing text: String, within limit: Duration = .seconds(30)) async throws {
        let path = directory.appendingPathComponent("node-\(node).log").path
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if let log = try? String(contentsOfFile: path, encoding: .utf8), log.contains(text) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw GRPCStatus(.deadlineExceeded, "node \(node) never logged '\(text)' within \(limit)")
    }

    func kill(_ node: Int, signal: Int32 = SIGKILL) {
        _ = stop(node, signal: signal)
    }

    /// Sends `signal` and waits for the exit; returns the process, to ask how it ended.
    func stop(_ node: Int, signal: Int32) -> Process? {
        guard let process = processes.removeValue(forKey: node) else { return nil }
        Foundation.kill(process.processIdentifier, signal)
        process.waitUntilExit()
        return process
    }

    /// What node `node` has written to its log so far.
    func log(_ node: Int) -> String {
        (try? String(contentsOfFile: directory.appendingPathComponent("node-\(node).log").path, encoding: .utf8)) ?? ""
    }

    /// Stops every node and removes the data and logs (kept with GREY_KEEP_TEST_DIRS=1, for a look after a failure).
    func stopAll() {
        for node in Array(processes.keys) { kill(node, signal: SIGTERM) }
        let channels = openChannels.withLock { channels in
            defer { channels = [:] }
            return Array(channels.values)
        }
        Task { for channel in channels { await channel.close() } }
        if ProcessInfo.processInfo.environment["GREY_KEEP_TEST_DIRS"] == nil { try? FileManager.default.removeItem(at: directory) }
    }

    /// A channel to node `node`, one per node (and TLS setting) for the cluster's life: the
    /// tests poll, and a channel per call left a connection open on the node per poll until
    /// the node stopped (hundreds per node in a long test, thousands across the suites at the
    /// crowded start). A restarted node's channel dials again on its next call.
    func channel(_ node: Int) throws -> GRPCChannel {
        let key = "\(address(node)) \(clientTLS.map { "\(ObjectIdentifier($0))" } ?? "cleartext")"
        if let open = openChannels.withLock({ $0[key] }) { return open }
        let made = try ownChannel(node)
        return openChannels.withLock { channels in
            if let raced = channels[key] { return raced }
            channels[key] = made
            return made
        }
    }

    /// A channel with a connection of its own to node `node`, for a test that needs one (and
    /// closes it); `channel(_:)` shares one per node.
    func ownChannel(_ node: Int) throws -> GRPCChannel {
        try GRPCChannel(target: address(node), connectTimeout: Self.connectTimeout, tls: clientTLS)
    }

    /// A channel to a greyd started alone (`startAlone`) on `port`.
    static func channel(port: Int) throws -> GRPCChannel { try GRPCChannel(target: "127.0.0.1:\(port)", connectTimeout: connectTimeout) }

    /// Polls until some live node reports a leader that every live node agrees on. The bound is
    /// for something that must happen, not a measure of speed: when `swift test` starts, every
    /// suite starts at once on two cores, and a debug greyd has taken over 10 s to listen.
    func waitForLeader(within limit: Duration = .seconds(30)) async throws -> Int {
        let deadline = ContinuousClock.now + limit
        var seen: [String] = []
        var silent: [Int] = []
        var refusing: [Int] = []
        while ContinuousClock.now < deadline {
            var leaders: Set<UInt64> = []
            var answered = 0
            seen = []
            silent = []
            refusing = []
            for node in processes.keys.sorted() {
                do {
                    let status = try await channel(node).call(ClusterMethods.getClusterStatus, GetClusterStatusRequest(), timeout: .milliseconds(300))
                    seen.append("n\(node): \(status.state) term \(status.term) leader \(status.hasLeader ? String(status.leaderID) : "none")")
                    if status.hasLeader {
                        leaders.insert(status.leaderID)
                        answered += 1
                    }
                } catch {
                    seen.append("n\(node): \(error)")
                    if (error as? GRPCStatus)?.code == .deadlineExceeded {
                        silent.append(node)
                    } else if "\(error)".contains("connection refused") {
                        refusing.append(node)
                    }
                }
            }
            if answered == processes.count, leaders.count == 1, let leader = leaders.first, processes[Int(leader)] != nil { return Int(leader) }
            try await Task.sleep(for: .milliseconds(50))
        }
        var report = "no agreed leader within \(limit): \(seen.joined(separator: "; "))"
        for node in silent { report += await diagnosis(node) }
        for node in refusing { report += refusedDiagnosis(node) }
        throw GRPCStatus(.unavailable, report)
    }
}

@Suite("greyd processes on loopback", .serialized)
struct GreydProcessTests {
    @Test("three nodes form a cluster; a write on one node is read on every node")
    func formationAndReplication() async throws {
        let cluster = try GreydCluster(count: 3)
        defer { cluster.stopAll() }
        let leader = try await cluster.waitForLeader()
        let follower = (leader + 1) % 3
        let put = try await cluster.channel(follower).call(KVMethods.put, PutRequest(key: Array("test-key".utf8), value: Array("test-value".utf8)), timeout: .seconds(5))
        #expect(put.header?.leaderID == UInt64(leader))
        // The operator sees who leads in each node's log.
        try await cluster.waitForLog(leader, containing: "became leader in term")
        try await cluster.waitForLog(follower, containing: "following node \(leader) in term")
        // Each node's own copy, not the leader's three times over.
        try await cluster.waitUntilAllApplied()
        for node in 0..<3 {
            let got = try await cluster.channel(node).call(KVMethods.get, GetRequest(key: Array("test-key".utf8), consistency: .stale), timeout: .seconds(5))
            #expect(got.found && got.value == Array("test-value".utf8), "node \(node)")
        }
    }

    @Test("a greyd orphaned by a crashed test run is swept before the next run's clusters; a test's own node is left alone")
    func orphanedNodesSwept() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("greyd-orphan-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        // Python starts the node and exits without waiting: the node is adopted by PID 1, as a
        // crashed test process's nodes are. (Not a shell's `&`: the node would keep the file
        // descriptor Foundation watches for the shell's exit, and waitUntilExit never return.)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let orphanPort = TestPorts.reserve()
        let pidFile = directory.appendingPathComponent("orphan.pid")
        let launcher = Process()
        launcher.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        launcher.arguments = [
            "python3", "-c",
            "import subprocess, sys; d = subprocess.DEVNULL; "
                + "node = subprocess.Popen(sys.argv[1:4] + ['--data-dir', sys.argv[4]], stdin=d, stdout=d, stderr=d, close_fds=True); "
                + "open(sys.argv[5], 'w').write(str(node.pid))",
            GreydCluster.binary.path, "--node-id=0", "--listen=127.0.0.1:\(orphanPort)", directory.appendingPathComponent("orphan").path, pidFile.path,
        ]
        try launcher.run()
        launcher.waitUntilExit()
        let orphan = try #require(Int32(try String(contentsOf: pidFile, encoding: .utf8)))
        defer { Foundation.kill(orphan, SIGKILL) }  // should the sweep miss it
        try await GreydCluster.waitUntilServing(port: orphanPort)
        let ownPort = TestPorts.reserve()
        let own = try GreydCluster.startAlone(id: 0, port: ownPort, directory: directory.appendingPathComponent("own").path)
        defer {
            own.terminate()
            own.waitUntilExit()
        }
        try await GreydCluster.waitUntilServing(port: ownPort)

        let swept = GreydCluster.sweepOrphans()
        #expect(swept.contains(orphan))
        #expect(!swept.contains(own.processIdentifier))
        // Gone (or a zombie until PID 1 reaps it), and its port free again; the test's own node serves on.
        let deadline = ContinuousClock.now + .seconds(10)
        func alive() -> Bool {
            let status = (try? String(contentsOfFile: "/proc/\(orphan)/status", encoding: .utf8)) ?? ""
            return !status.isEmpty && !status.contains("State:\tZ")
        }
        while alive(), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!alive(), "the orphaned node \(orphan) still runs")
        #expect(own.isRunning)
        try await GreydCluster.waitUntilServing(port: ownPort)
    }

    @Test("--log-format json: every line is a JSON object; a role change carries the term and leader it announces; --log-level warning drops info")
    func jsonLogs() async throws {
        let cluster = try GreydCluster(count: 3, settings: ["GREY_LOG_FORMAT": "json"])
        defer { cluster.stopAll() }
        let leader = try await cluster.waitForLeader()
        try await cluster.waitForLog(leader, containing: "became leader in term")
        var announced = false
        for line in cluster.log(leader).split(separator: "\n") {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not a JSON object: \(line)")
            #expect(object["level"] is String && object["msg"] is String && object["ts"] is String, "\(line)")
            #expect(object["node"] as? Int == leader, "\(line)")
            if let message = object["msg"] as? String, message.hasPrefix("became leader in term ") {
                announced = true
                #expect(object["term"] as? Int == Int(message.dropFirst("became leader in term ".count)), "\(line)")
                #expect(object["leader"] as? Int == leader, "\(line)")
            }
        }
        #expect(announced)
        // At warning, the start-up lines (info) are gone; the node still runs and answers.
        let quiet = (leader + 1) % 3
        cluster.kill(quiet, signal: SIGTERM)
        try cluster.start(quiet, extra: ["GREY_LOG_LEVEL": "warning"])
        let before = cluster.log(quiet).split(separator: "\n").count
        try await GreydCluster.waitUntilServing(port: cluster.basePort + quiet)
        try await cluster.waitUntilAllApplied()
        let after = cluster.log(quiet).split(separator: "\n").dropFirst(before)
        #expect(!after.contains { $0.contains("\"level\":\"info\"") }, "\(after)")
    }

    @Test("nodes running as three different unprivileged users form a cluster and replicate")
    func unprivilegedUsers() async throws {
        let cluster = try GreydCluster(count: 3, unprivileged: true)
        defer { cluster.stopAll() }
        let leader = try await cluster.waitForLeader()
        let follower = (leader + 1) % 3
        let put = try await cluster.channel(follower).call(KVMethods.put, PutRequest(key: Array("unprivileged".utf8), value: [1]), timeout: .seconds(5))
        #expect(put.header?.leaderID == UInt64(leader))
        let got = try await cluster.channel(leader).call(KVMethods.get, GetRequest(key: Array("unprivileged".utf8)), timeout: .seconds(5))
        #expect(got.found && got.value == [1])
    }

    @Test("kill -9 of the leader: a new leader takes writes within a second; the old one rejoins and catches up")
    func leaderFailover() async throws {
        let cluster = try GreydCluster(count: 3)
        defer { cluster.stopAll() }
        let leader = try await cluster.waitForLeader()
        let survivor = (leader + 1) % 3
        for index in 0..<20 {
            _ = try await cluster.channel(survivor).call(KVMethods.put, PutRequest(key: Array("k\(index)".utf8), value: [UInt8(index)]), timeout: .seconds(5))
        }
        cluster.kill(leader)
        let killedAt = ContinuousClock.now
        var acknowledgedAfter: Duration? = nil
        while ContinuousClock.now - killedAt < .seconds(5) {
            if (try? await cluster.channel(survivor).call(KVMethods.put, PutRequest(key: Array("after".utf8), value: [1]), timeout: .milliseconds(300))) != nil {
                acknowledgedAfter = ContinuousClock.now - killedAt
                break
            }
        }
        let failover = try #require(acknowledgedAfter, "no write was acknowledged within 5 s of killing the leader")
        // From the settings, not from a stopwatch: followers notice within 2 election timeouts
        // (150 ms randomised up to 2x), pre-vote and vote take a round trip each, and a debug build
        // beside CPU-bound suites runs several times slower than greyd does. bench/failover.py
        // measures the real figure (median ~175 ms, release build).
        #expect(failover < .milliseconds(300) * 8, "first acknowledged write \(failover) after kill -9")
        // The survivors saw the dead leader's connection close rather than waiting out a random
        // timeout: the first of them by id campaigns 160 ms after it last heard it, the other 180.
        let survivors = (0..<3).filter { $0 != leader }
        for node in survivors {
            #expect(cluster.log(node).contains("leader \(leader)'s connection closed: campaigning \(160 + 20 * survivors.firstIndex(of: node)!) ms"), "node \(node)'s log")
        }
        try cluster.start(leader)
        _ = try await cluster.waitForLeader()
        var caughtUp = false
        for _ in 0..<100 where !caughtUp {
            let got = try? await cluster.channel(leader).call(KVMethods.get, GetRequest(key: Array("after".utf8), consistency: .stale), timeout: .milliseconds(300))
            caughtUp = got?.found == true
            if !caughtUp { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(caughtUp, "the restarted node never caught up")
        let status = try await cluster.channel(leader).call(ClusterMethods.getClusterStatus, GetClusterStatusRequest(), timeout: .seconds(1))
        #expect(status.state == .follower)
    }

    @Test("greyctl cluster replication: the leader's view of each follower, through any endpoint; a paused follower's lag and silence show, and it says its loop was held")
    func replicationView() async throws {
        let cluster = try GreydCluster(count: 3)
        defer { cluster.stopAll() }
        let leader = try await cluster.waitForLeader()
        let follower = (leader + 1) % 3
        let paused = (leader + 2) % 3
        let greyctl = FsckTests.greyctl.path
        _ = try await writeKeys(cluster, via: leader, prefix: "before-", count: 20)
        let table = try await runProcess(greyctl, ["cluster", "replication", "--endpoints", cluster.address(follower)])
        #expect(table.status == 0 && table.output.hasPrefix("leader: node \(leader), term "), "\(table.output)")
        let rows = table.output.split(separator: "\n").filter { $0.contains("replicate") }
        #expect(rows.count == 2, "both followers replicating: \(table.output)")

        let process = try #require(cluster.processes[paused])
        kill(process.processIdentifier, SIGSTOP)
        defer { kill(process.processIdentifier, SIGCONT) }
        _ = try await writeKeys(cluster, via: leader, prefix: "during-", count: 20)
        try await Task.sleep(for: .milliseconds(600))
        let answer = try await runProcess(greyctl, ["-o", "json", "cluster", "replication", "--endpoints", cluster.address(follower)])
        let view = try #require(try JSONSerialization.jsonObject(with: Data(answer.output.utf8)) as? [String: Any], "\(answer.output)")
        let followers = try #require(view["followers"] as? [[String: Any]])
        func row(_ node: Int) -> [String: Any]? { followers.first { ($0["id"] as? NSNumber)?.intValue == node } }
        let silent = try #require(row(paused)), live = try #require(row(follower))
        #expect((silent["lag"] as? NSNumber)?.intValue ?? 0 >= 20, "\(silent)")
        #expect((silent["since_contact_ms"] as? NSNumber)?.intValue ?? 0 >= 500, "\(silent)")
        #expect((live["since_contact_ms"] as? NSNumber)?.intValue ?? 1000 < 500, "\(live)")
        #expect(live["state"] as? String == "replicate" && (live["next_index"] as? NSNumber)?.intValue ?? 0 > (live["match_index"] as? NSNumber)?.intValue ?? 0, "\(live)")
        // The leader says the paused one went quiet, and when it answers again.
        try await cluster.waitForLog(leader, containing: "peer \(paused) at \(cluster.address(paused)) unreachable")
        kill(process.processIdentifier, SIGCONT)
        try await cluster.waitForLog(leader, containing: "peer \(paused) at \(cluster.address(paused)) answers again")
        // The paused node saw its clock jump: a line and a metric, though nothing else shows it.
        try await cluster.waitForLog(paused, containing: "event loop held once since the last report")
        let metrics = try await runProcess("curl", ["-s", "http://\(cluster.address(paused))/metrics"])
        let held = metrics.output.split(separator: "\n").first { $0.hasPrefix("grey_loop_held_seconds_count") }
        #expect(held.map { !$0.hasSuffix(" 0") } == true, "\(held ?? "no grey_loop_held_seconds_count")")
    }

    @Test("SIGTERM on the leader hands leadership off before it exits; writes barely notice")
    func gracefulShutdownHandsOff() async throws {
        let cluster = try GreydCluster(count: 3)
        defer { cluster.stopAll() }
        let leader = try await cluster.waitForLeader()
        let survivor = (leader + 1) % 3
        let term = try await cluster.channel(survivor).call(ClusterMethods.getClusterStatus, GetClusterStatusRequest(), timeout: .seconds(1)).term
        cluster.kill(leader, signal: SIGTERM)
        let status = try await cluster.channel(survivor).call(ClusterMethods.getClusterStatus, GetClusterStatusRequest(), timeout: .seconds(1))
        // The old leader waited for a successor before exiting: one already leads, one term on.
        #expect(status.hasLeader && status.leaderID != UInt64(leader))
        #expect(status.term == term + 1)
        let put = try await cluster.channel(survivor).call(KVMethods.put, PutRequest(key: [7], value: [7]), timeout: .seconds(2))
        #expect(put.header?.hasLeader == true)
    }

    @Test("a second SIGTERM during a slow shutdown (a hand-off no follower can take) exits at once")
    func secondSignalExitsAtOnce() async throws {
        let cluster = try GreydCluster(count: 3)
        defer { cluster.stopAll() }
        let leader = try await cluster.waitForLeader()
        let followers = (0..<3).filter { $0 != leader }.compactMap { cluster.processes[$0]?.processIdentifier }
        for follower in followers { kill(follower, SIGSTOP) }
        defer { for follower in followers { kill(follower, SIGCONT) } }
        let process = try #require(cluster.processes[leader])
        kill(process.processIdentifier, SIGTERM)
        try await cluster.waitForLog(leader, containing: "shutting down")
        kill(process.processIdentifier, SIGTERM)
        let deadline = ContinuousClock.now + .seconds(10)
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!process.isRunning && process.terminationStatus == 1, "status \(process.terminationStatus)")
        let log = cluster.log(leader)
        #expect(log.contains("a second signal: exiting at once"), "\(log.suffix(400))")
        #expect(!log.contains("could not hand off leadership"), "it sat out the hand-off's two seconds instead: \(log.suffix(400))")
    }

    @Test("SIGTERM while clients write: every node exits with status 0, no crash trace")
    func cleanExitUnderLoad() async throws {
        let cluster = try GreydCluster(count: 3)
        defer { cluster.stopAll() }
        let leader = try await cluster.waitForLeader()
        let channel = try cluster.channel(leader)
        let value = [UInt8](repeating: 7, count: 4096)
        // Enough writes that RocksDB has flushes and compactions to run, then writers that keep
        // going while the nodes stop. Exiting used to race RocksDB's static destructors against
        // its background threads and a closing database: a crash trace about one stop in three.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<32 {
                group.addTask {
                    for n in 0..<60 { _ = try await channel.call(KVMethods.put, PutRequest(key: Array("w\(writer)-\(n)".utf8), value: value), timeout: .seconds(10)) }
                }
            }
            try await group.waitForAll()
        }
        let writers = Task {
            for n in 0..<100_000 where !Task.isCancelled {
                _ = try? await channel.call(KVMethods.put, PutRequest(key: Array("late-\(n)".utf8), value: value), timeout: .seconds(1))
            }
        }
        defer { writers.cancel() }
        for node in [(leader + 1) % 3, (leader + 2) % 3, leader] {
            let process = try #require(cluster.stop(node, signal: SIGTERM))
            let log = cluster.log(node)
            #expect(process.terminationReason == .exit && process.terminationStatus == 0, "node \(node): \(log)")
            #expect(!log.contains("crashed") && !log.contains("terminate called"), "node \(node): \(log)")
            // Its own server closing the leader's connection is no sign the leader died.
            let stopping = log.components(separatedBy: "shutting down").dropFirst().joined()
            #expect(!stopping.contains("connection closed: campaigning"), "node \(node) took its own closed connection for its leader's: \(log)")
        }
    }

    @Test("a thousand streams of 100-key Ranges on the leader: every one answered, and the leader keeps leading")
    func heavyReadsKeepTheLeader() async throws {
        let cluster = try GreydCluster(count: 3)
        defer { cluster.stopAll() }
        let leader = try await cluster.waitForLeader()
        let value = [UInt8](repeating: 118, count: 256)
        for n in 0..<100 {
            _ = try await cluster.channel(leader).call(EtcdKVMethods.put, Etcd.PutRequest(key: Array("bench/\(1000 + n)".utf8), value: value), timeout: .seconds(5))
        }
        let before = try await cluster.channel(leader).call(ClusterMethods.getClusterStatus, GetClusterStatusRequest(), timeout: .seconds(2))
        // h2load, as bench/range-vs-etcd.sh runs it: 16 connections × 64 streams, each asking
        // again as soon as it is answered. When the node's loop served its clients too, and took
        // each read as a job of its own, it read its followers' heartbeat replies so late under
        // this load that it stepped down every second or two, and Ranges failed UNAVAILABLE.
        let body = cluster.directory.appendingPathComponent("prefix-100.bin")
        let prefix = Etcd.RangeRequest(key: Array("bench/".utf8), rangeEnd: Array("bench0".utf8))
        try Data(GRPCMessageFramer.frame(prefix.encoded())).write(to: body)
        let load = try await runProcess("h2load", [
            "-n", "5000", "-c", "16", "-m", "64", "-d", body.path, "-H", "content-type: application/grpc", "-H", "te: trailers",
            "http://\(cluster.address(leader))\(EtcdKVMethods.range.path)",
        ])
        #expect(load.output.contains("5000 succeeded"), "\(load.output)")
        // h2load counts a gRPC error as a success (HTTP 200): the node's own counts tell.
        let metrics = try await runProcess("curl", ["-s", "http://\(cluster.address(leader))/metrics"])
        let rangeCounts = metrics.output.split(separator: "\n").filter { $0.hasPrefix("grey_rpc_requests_total{") && $0.contains("KV/Range") }
        #expect(rangeCounts.count == 1 && rangeCounts.first?.contains("code=\"OK\"") == true, "\(rangeCounts)")
        for node in 0..<3 {
            let status = try await cluster.channel(node).call(ClusterMethods.getClusterStatus, GetClusterStatusRequest(), timeout: .seconds(2))
            #expect(status.term == before.term && status.leaderID == UInt64(leader), "node \(node): term \(before.term) → \(status.term), leader \(status.leaderID)")
        }
    }

    @Test("with one node down, removing a live one is refused (greyctl and etcdctl); removing the dead one is not")
    func removalThatWouldLoseQuorum() async throws {
        let cluster = try GreydCluster(count: 3)
        defer { cluster.stopAll() }
        let leader = try await cluster.waitForLeader()
        let dead = (leader + 1) % 3, live = (leader + 2) % 3
        cluster.kill(dead)
        // Longer than an election timeout (150 ms): the leader no longer counts it as heard from.
        try await Task.sleep(for: .seconds(1))
        let greyctl = FsckTests.greyctl.path
        let refused = try await runProcess(greyctl, ["cluster", "remove-member", "\(live)", "--endpoints", cluster.address(leader)])
        #expect(refused.status == 1)
        #expect(refused.output.hasPrefix("greyctl: removing node \(live) would leave 1 of 2 voters reachable from the leader, not a majority"), "\(refused.output)")
        let etcd = try await runProcess("env", ["ETCDCTL_API=3", "etcdctl", "--endpoints", cluster.address(leader), "member", "remove", live == 0 ? "ffffffffffffffff" : String(live, radix: 16)])
        #expect(etcd.status != 0)
        #expect(etcd.output.contains("re-configuration failed due to not enough started members"), "\(etcd.output)")
        var members = try await cluster.channel(leader).call(ClusterMethods.getClusterStatus, GetClusterStatusRequest(), timeout: .seconds(2)).members
        #expect(members.map(\.id).sorted() == [0, 1, 2], "a refused removal changed the membership")
        // The dead node can go: the leader and the live follower are both voters left.
        let removed = try await runProcess(greyctl, ["cluster", "remove-member", "\(dead)", "--endpoints", cluster.address(leader)])
        #expect(removed.status == 0, "\(removed.output)")
        members = try await cluster.channel(leader).call(ClusterMethods.getClusterStatus, GetClusterStatusRequest(), timeout: .seconds(2)).members
        #expect(members.map(\.id).sorted() == [UInt64(leader), UInt64(live)].sorted())
    }

    @Test("greyd --join: a fourth node joins as learner, is promoted, leads, then leaves")
    func joinPromoteTransferLeave() async throws {
        let cluster = try GreydCluster(count: 3)
        defer { cluster.stopAll() }
        _ = try await cluster.waitForLeader()
        _ = try await cluster.channel(1).call(KVMethods.put, PutRequest(key: Array("before".utf8), value: [1]), timeout: .seconds(5))
        try cluster.start(3, joining: 1)
        let admin = try cluster.channel(0)
        var voters: [UInt64] = []
        for _ in 0..<200 where voters.count < 4 {
            let status = try? await admin.call(ClusterMethods.getClusterStatus, GetClusterStatusRequest(), timeout: .milliseconds(300))
            voters = status?.members.filter { $0.role == .voter }.map(\.id) ?? []
            if voters.count < 4 { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(voters.sorted() == [0, 1, 2, 3], "the joiner was not promoted: voters \(voters)")
        let caughtUp = try await cluster.channel(3).call(KVMethods.get, GetRequest(key: Array("before".utf8)), timeout: .seconds(5))
        #expect(caughtUp.found)

        _ = try await admin.call(ClusterMethods.transferLeadership, TransferLeadershipRequest(targetID: 3), timeout: .seconds(5))
        var leader: UInt64? = nil
        for _ in 0..<100 where leader != 3 {
            leader = try? await admin.call(ClusterMethods.getClusterStatus, GetClusterStatusRequest(), timeout: .milliseconds(300)).leaderID
            if leader != 3 { try await Task.sleep(for: .milliseconds(30)) }
        }
        #expect(leader == 3, "leadership did not move to the new node")

        let left = try await admin.call(ClusterMethods.leaveCluster, LeaveClusterRequest(nodeID: 3), timeout: .seconds(5))
        #expect(left.members.map(\.id).sorted() == [0, 1, 2])
        cluster.kill(3, signal: SIGTERM)
        let newLeader = try await cluster.waitForLeader()
        #expect(newLeader != 3)
        _ = try await cluster.channel(0).call(KVMethods.put, PutRequest(key: Array("after".utf8), value: [2]), timeout: .seconds(5))
        let missing = await #expect(throws: GRPCStatus.self) {
            try await admin.call(ClusterMethods.leaveCluster, LeaveClusterRequest(nodeID: 99), timeout: .seconds(5))
        }
        #expect(missing?.code == .notFound && missing?.message == "no such member 99", "\(String(describing: missing))")
        // What every member logged of it.
        let log = cluster.log(0)
        for line in ["member 3 at \(cluster.address(3)) joined as a learner", "member 3 promoted to voter", "member 3 at \(cluster.address(3)) removed"] {
            #expect(log.contains(line), "node 0 never logged '\(line)'")
        }
    }

    @Test("five nodes keep taking writes with two of them killed, and refuse with three")
    func fiveNodesToleratesTwoFailures() async throws {
        let cluster = try GreydCluster(count: 5)
        defer { cluster.stopAll() }
        let leader = try await cluster.waitForLeader()
        let followers = (0..<5).filter { $0 != leader }
        cluster.kill(followers[0])
        cluster.kill(leader)
        let survivor = followers[1]
        var written = false
        for _ in 0..<50 where !written {
            written = (try? await cluster.channel(survivor).call(KVMethods.put, PutRequest(key: Array("k0".utf8), value: [1]), timeout: .milliseconds(500))) != nil
            if !written { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(written, "no write was accepted with three of five nodes up")
        let read = try await cluster.channel(followers[3]).call(KVMethods.get, GetRequest(key: Array("k0".utf8)), timeout: .seconds(2))
        #expect(read.header?.hasLeader == true)
        #expect(read.found && read.value == [1], "the write acknowledged with two nodes down reads back")
        cluster.kill(followers[2])
        let refused = await #expect(throws: GRPCStatus.self) {
            try await cluster.channel(survivor).call(KVMethods.put, PutRequest(key: [9], value: [9]), timeout: .seconds(2))
        }
        #expect(refused?.code == .unavailable || refused?.code == .deadlineExceeded)
    }

    @Test("with two of three nodes down writes fail with UNAVAILABLE; after a restart they succeed")
    func quorumLoss() async throws {
        let cluster = try GreydCluster(count: 3)
        defer { cluster.stopAll() }
        let leader = try await cluster.waitForLeader()
        let others = (0..<3).filter { $0 != leader }
        cluster.kill(others[0])
        cluster.kill(others[1])
        let refused = await #expect(throws: GRPCStatus.self) {
            try await cluster.channel(leader).call(KVMethods.put, PutRequest(key: [1], value: [1]), timeout: .seconds(2))
        }
        #expect(refused?.code == .unavailable || refused?.code == .deadlineExceeded, "\(String(describing: refused))")
        try cluster.start(others[0])
        _ = try await cluster.waitForLeader()
        var written = false
        for _ in 0..<50 where !written {
            written = (try? await cluster.channel(leader).call(KVMethods.put, PutRequest(key: [1], value: [2]), timeout: .milliseconds(500))) != nil
        }
        #expect(written)
    }
}

@Suite("greyd settings")
struct GreydSettingsTests {
    /// Runs greyd to completion (for settings it must refuse) and returns exit status and stderr.
    func runGreyd(_ arguments: [String], environment: [String: String] = [:]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = GreydCluster.binary
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = pipe
        try process.run()
        // A greyd that wrongly starts must not hang the suite (this blocks a thread meanwhile).
        DispatchQueue.global().asyncAfter(deadline: .now() + 30) { if process.isRunning { process.terminate() } }
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    @Test("bad settings are refused at start with one line and exit status 2", arguments: [
        (["--peers", "localhost"], "greyd: peer 'localhost' is not host:port"),
        (["--listen", "nowhere"], "greyd: listen address 'nowhere' is not host:port"),
        (["--election-timeout", "fast"], "greyd: election timeout must look like 150ms or 1s"),
        (["--node-id", "three"], "greyd: GREY_NODE_ID must be a non-negative integer, decimal or 0x-prefixed hex"),
        (["--node-id", "0xffffffffffffffff"], "greyd: GREY_NODE_ID 0xffffffffffffffff is reserved: etcd's API shows node 0 by that id"),
        (["--log-level", "loud"], "greyd: GREY_LOG_LEVEL must be debug, info, warning or error, not 'loud'"),
        (["--log-format", "xml"], "greyd: GREY_LOG_FORMAT must be text or json, not 'xml'"),
        (["--client-cert-auth"], "greyd: --client-cert-auth needs TLS: give --tls-cert, --tls-key and --tls-ca (the CA whose certificates clients must present)"),
        (["--public-metrics", "maybe"], "greyd: GREY_PUBLIC_METRICS must be true or false"),
        (["--quota-backend-bytes", "lots"], "greyd: GREY_QUOTA_BACKEND_BYTES must be a number of bytes, like 8589934592 or 8GiB, not 'lots'"),
        (["--trace-endpoint", "127.0.0.1:4318"], "greyd: GREY_TRACE_ENDPOINT must be an http or https URL, like http://127.0.0.1:4318 (an OTLP/HTTP collector), not '127.0.0.1:4318'"),
        (["--trace-endpoint", "http://127.0.0.1:4318", "--trace-sample", "2"], "greyd: GREY_TRACE_SAMPLE must be a fraction from 0 to 1 (or 0% to 100%), not '2'"),
    ])
    func refusals(arguments: [String], message: String) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString).path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (status, output) = try runGreyd(arguments + ["--data-dir", directory])
        #expect(status == 2)
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == message)
    }

    @Test("a port already in use is refused with the reason")
    func portInUse() async throws {
        let server = try await GRPCServer.start(
            configuration: .init(host: "127.0.0.1", port: 0), router: GRPCRouter(), sideDoor: NoRoutes())
        defer { Task { try? await server.close() } }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString).path
        defer { try? FileManager.default.removeItem(atPath: directory) }  // greyd opened its store before the port refused it
        let (status, output) = try runGreyd(["--listen", "127.0.0.1:\(server.port)", "--data-dir", directory])
        #expect(status == 2)
        #expect(output.contains("greyd: cannot listen on 127.0.0.1:\(server.port)"), "\(output)")
    }

    @Test("a data directory of another node is refused")
    func foreignDataDirectory() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString).path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let port = TestPorts.reserve(2)
        let first = try GreydCluster.startAlone(id: 1, port: port, directory: directory)
        // Serving means its identity is on disk (a fixed sleep was too short on a loaded machine,
        // and the second greyd then started on an empty directory and never exited).
        try await GreydCluster.waitUntilServing(port: port)
        first.terminate()
        first.waitUntilExit()
        let (status, output) = try runGreyd(["--node-id", "2", "--listen", "127.0.0.1:\(port + 1)", "--data-dir", directory])
        #expect(status == 2)
        #expect(output.contains("holds the data of node 1, not node 2"), "\(output)")
    }

    @Test("a YAML config file gives settings; the environment overrides it; a typo is refused")
    func configFile() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("greyd-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let port = TestPorts.reserve()
        let config = directory.appendingPathComponent("grey.yaml")
        try """
            node_id: 9
            listen: 127.0.0.1:\(port)
            data_dir: \(directory.appendingPathComponent("data").path)
            election_timeout: 200ms
            """.write(to: config, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = GreydCluster.binary
        process.arguments = ["--config", config.path]
        process.environment = ProcessInfo.processInfo.environment.merging(["GREY_NODE_ID": "7"]) { $1 }
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        let channel = try GreydCluster.channel(port: port)
        var status: GetClusterStatusResponse? = nil
        for _ in 0..<100 where status?.hasLeader != true {
            status = try? await channel.call(ClusterMethods.getClusterStatus, GetClusterStatusRequest(), timeout: .milliseconds(200))
            if status?.hasLeader != true { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(status?.nodeID == 7, "GREY_NODE_ID should win over node_id in the file")
        #expect(status?.hasLeader == true && status?.leaderID == 7, "a single node leads itself")
        await channel.close()

        let typo = directory.appendingPathComponent("typo.yaml")
        try "nodeid: 3\n".write(to: typo, atomically: true, encoding: .utf8)
        let (exit, output) = try runGreyd(["--config", typo.path])
        #expect(exit == 2)
        #expect(output.contains("unknown setting 'nodeid'"), "\(output)")
    }
}

struct NoRoutes: HTTPSideDoor {
    func handle(_ request: SideDoorRequest) async -> SideDoorResponse { SideDoorResponse(status: 404, text: "") }
}

@Suite("greyctl fsck")
struct FsckTests {
    static let greyctl = RepositoryPaths.root.appendingPathComponent(".build/debug/greyctl")

    func fsck(_ directory: String) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = Self.greyctl
        process.arguments = ["fsck", "--data-dir", directory]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test("fsck reports a healthy directory, and refuses a damaged or missing one with the reason")
    func healthyThenDamaged() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("grey-fsck-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let port = TestPorts.reserve()
        let node = try GreydCluster.startAlone(id: 4, port: port, directory: directory)
        let channel = try GreydCluster.channel(port: port)
        var written = 0
        for index in 0..<400 where written < 200 {
            if (try? await channel.call(KVMethods.put, PutRequest(key: Array("k\(index)".utf8), value: [UInt8](repeating: 7, count: 256)), timeout: .seconds(1))) != nil {
                written += 1
            } else {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        await channel.close()
        node.terminate()
        node.waitUntilExit()
        try #require(written == 200)

        let (status, output) = try fsck(directory)
        #expect(status == 0, "\(output)")
        #expect(output.hasPrefix("ok: node 4, term 1, log 1..."), "\(output)")

        // Damage the middle of the largest table or log file (RocksDB flushed the WAL into a
        // table when greyd closed it).
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".sst") || $0.hasSuffix(".log") }
        let sized = files.map { ($0, (try? FileManager.default.attributesOfItem(atPath: directory + "/" + $0)[.size] as? Int) ?? 0) }
        let largest = try #require(sized.max { $0.1 < $1.1 })
        let path = directory + "/" + largest.0
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        try #require(bytes.count > 2_000, "\(largest.0) too small to damage in the middle: \(bytes.count) bytes")
        for offset in (bytes.count / 2)..<(bytes.count / 2 + 64) { bytes[offset] ^= 0xFF }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let (damagedStatus, damagedOutput) = try fsck(directory)
        #expect(damagedStatus == 1)
        #expect(damagedOutput.hasPrefix("greyctl: storage error during") || damagedOutput.hasPrefix("greyctl: data directory is damaged"), "\(damagedOutput)")

        let (missingStatus, missingOutput) = try fsck(directory + "-nowhere")
        #expect(missingStatus != 0)
        #expect(missingOutput.contains("no data directory at"), "\(missingOutput)")
    }
}
