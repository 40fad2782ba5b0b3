import Foundation
import GreyRPC
import GreyWire

/// Why a node of a test's cluster does not answer: `waitForLeader` appends this for each node
/// whose calls ran out of time, and the shorter `refusedDiagnosis` for each that refused them.
extension GreydCluster {
    /// The kernel's view of the TCP sockets on `port` (/proc/net/tcp): the listening one, whose
    /// receive queue is how many connections wait to be accepted, and the accepted ones, whose
    /// queues are bytes not yet read by the node or not yet taken by the client. Says whether
    /// a silent node stopped accepting, stopped reading, or read and did not answer.
    static func socketQueues(port: Int) -> String {
        let states = ["01": "established", "0A": "listen", "06": "time-wait", "08": "close-wait", "02": "syn-sent", "03": "syn-recv"]
        let lines = ((try? String(contentsOfFile: "/proc/net/tcp", encoding: .utf8)) ?? "").split(separator: "\n").dropFirst()
        var found: [String] = []
        for line in lines {
            let fields = line.split(separator: " ")
            guard fields.count > 4, let local = fields[1].split(separator: ":").last, Int(local, radix: 16) == port else { continue }
            let remote = fields[2].split(separator: ":").last.flatMap { Int($0, radix: 16) } ?? 0
            let queues = fields[4].split(separator: ":").map { Int($0, radix: 16) ?? -1 }
            found.append("\(states[String(fields[3])] ?? String(fields[3])) from port \(remote): send queue \(queues.first ?? -1), receive queue \(queues.last ?? -1)")
        }
        return "  sockets on port \(port): " + (found.isEmpty ? "none" : found.joined(separator: "; "))
    }

    /// gdb's `thread apply all bt` as one line per thread: its name, then each frame's function.
    static func compactBacktraces(_ output: String) -> String {
        var report = ""
        for line in output.split(separator: "\n") {
            if line.hasPrefix("Thread ") {
                report += "\n  " + (line.split(separator: "\"").dropFirst().first.map { "\"\($0)\":" } ?? String(line))
            } else if line.hasPrefix("#") {
                let words = line.split(separator: " ", omittingEmptySubsequences: true)
                let function = words.firstIndex(of: "in").map { words.index(after: $0) }.flatMap { words.indices.contains($0) ? words[$0] : nil } ?? words.dropFirst().first
                report += " " + (function.map { String($0.prefix { $0 != "(" }.prefix(60)) } ?? "?")
            }
        }
        return report
    }

    /// What a node that does not answer is doing: whether it answers on a connection of its
    /// own, its process state and open files, the sockets on its port, each thread's kernel
    /// stack (root only) and user stack (when gdb is installed), and the end of its log. A
    /// node silent at a crowded start failed a few CI runs; this is what says why next time.
    func diagnosis(_ node: Int) async -> String {
        guard let process = processes[node] else { return "" }
        let pid = process.processIdentifier
        var report = "\n--- node \(node) (pid \(pid)) does not answer"
        // The shared channel's connection, or the node? A connection of its own tells them apart.
        if let fresh = try? ownChannel(node) {
            do {
                let status = try await fresh.call(ClusterMethods.getClusterStatus, GetClusterStatusRequest(), timeout: .seconds(2))
                report += "; on a new connection it answers: \(status.state) term \(status.term) leader \(status.hasLeader ? String(status.leaderID) : "none")"
            } catch {
                report += "; on a new connection too: \(error)"
            }
            // An unknown method is refused by the connection's handler itself, with no task and no
            // visit to the node: an answer here and none above means calls stall on their way
            // through the node, no answer means the connection is not served at all.
            let unknown = GRPCMethod<GetClusterStatusRequest, GetClusterStatusResponse>(service: "grey.v1.Diagnosis", name: "Probe")
            do {
                _ = try await fresh.call(unknown, GetClusterStatusRequest(), timeout: .seconds(2))
                report += "; an unknown method was answered as if it existed"
            } catch {
                report += "; an unknown method: \(error)"
            }
            await fresh.close()
        }
        report += "\n" + ((try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? "").split(separator: "\n")
            .filter { $0.hasPrefix("State") || $0.hasPrefix("Threads") || $0.hasPrefix("VmRSS") }.joined(separator: "; ")
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
        report += "; \(descriptors) open files\n" + Self.socketQueues(port: basePort + node)
        let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        for thread in threads.sorted() {
            let name = (try? String(contentsOfFile: "/proc/\(pid)/task/\(thread)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
            let stack = ((try? String(contentsOfFile: "/proc/\(pid)/task/\(thread)/stack", encoding: .utf8)) ?? "")
                .split(separator: "\n").prefix(4).map { $0.split(separator: " ").last.map(String.init) ?? "" }.joined(separator: " < ")
            report += "\n  thread \(thread) \(name): \(stack)"
        }
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/gdb") {
            let gdb = Process()
            gdb.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
            gdb.arguments = ["20", "/usr/bin/gdb", "-p", String(pid), "-batch", "-ex", "thread apply all bt 10"]
            let pipe = Pipe()
            gdb.standardOutput = pipe
            gdb.standardError = FileHandle.nullDevice
            if (try? gdb.run()) != nil {
                let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                gdb.waitUntilExit()
                report += Self.compactBacktraces(output)
            }
        }
        report += "\n  log: " + log(node).split(separator: "\n").suffix(12).joined(separator: "\n  log: ")
        return report
    }

    /// Why a node refuses connections: whether its process is still running (still starting,
    /// or it never opened its port) or ended (how), and the end of its log — which says
    /// whether it crashed, refused to start, or was still replaying its log.
    func refusedDiagnosis(_ node: Int) -> String {
        guard let process = processes[node] else { return "" }
        var report = "\n--- node \(node) (pid \(process.processIdentifier)) refuses connections; "
        if process.isRunning {
            report += "its process is running"
        } else {
            report += "its process ended: \(process.terminationReason == .uncaughtSignal ? "signal" : "exit status") \(process.terminationStatus)"
        }
        report += "\n  log: " + log(node).split(separator: "\n").suffix(15).joined(separator: "\n  log: ")
        return report
    }

    /// The end of every node's log, for a check that failed on the cluster's behaviour rather
    /// than a node's silence: who led when, and what each node said about its peers. The stock
    /// client check once saw a follower stuck behind with no leader after a 3 MiB write, under
    /// the full suite's load, and the removed directory kept no more than that.
    func logTails(lines: Int = 25) -> String {
        processes.keys.sorted().map { node in
            "\n--- node \(node) log:\n  " + log(node).split(separator: "\n").suffix(lines).joined(separator: "\n  ")
        }.joined()
    }
}
