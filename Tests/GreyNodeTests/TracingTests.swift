import Foundation
import GreyTestSupport
import Testing

/// OpenTelemetry traces as an operator meets them: greyd exporting OTLP/HTTP to a collector
/// (here a small Python receiver decoding the payload with OpenTelemetry's own classes), and
/// `greyctl --trace` printing the id to look the trace up by.
@Suite("traces", .serialized)
struct TracingTests {
    /// The receiver, writing one JSON line per span it was sent.
    final class Receiver {
        let port = TestPorts.reserve()
        let spansFile = FileManager.default.temporaryDirectory.appendingPathComponent("spans-\(UUID().uuidString).jsonl")
        private let process = Process()

        init() throws {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", RepositoryPaths.tools.appendingPathComponent("otlp_receiver.py").path,
                                 "--port", String(port), "--out", spansFile.path, "--seconds", "300"]
            process.standardOutput = FileHandle.nullDevice
            try process.run()
        }

        var endpoint: String { "http://127.0.0.1:\(port)" }

        /// Every span received so far.
        func spans() -> [[String: Any]] {
            guard let text = try? String(contentsOf: spansFile, encoding: .utf8) else { return [] }
            return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        }

        func stop() {
            // SIGKILL: the test runner's children may inherit SIGTERM ignored, and Python
            // keeps it so.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            try? FileManager.default.removeItem(at: spansFile)
        }
    }

    @Test("one Put through a follower with greyctl --trace is one tree under greyctl's root span whose spans cover all three nodes: forward, propose, fsync, replicate to each follower and its fsync there, commit, apply, reply; a traced read shows its ReadIndex wait; untraced calls and heartbeats export nothing")
    func putThroughFollower() async throws {
        let receiver = try Receiver()
        defer { receiver.stop() }
        let cluster = try GreydCluster(count: 3, settings: ["GREY_TRACE_ENDPOINT": receiver.endpoint])
        defer { cluster.stopAll() }
        let leader = try await cluster.waitForLeader()
        let follower = (leader + 1) % 3
        let other = (leader + 2) % 3
        #expect(cluster.log(leader).contains("tracing client calls to \(receiver.endpoint)/v1/traces"))
        let greyctl = FsckTests.greyctl.path

        // An untraced call first: with the default sample of 0 it must leave no trace.
        let plain = try await runProcess(greyctl, ["kv", "put", "plain", "v", "--endpoints", cluster.address(follower)])
        #expect(plain.status == 0 && plain.output == "OK\n", "\(plain.output)")
        // greyctl given the endpoint too exports the trace's root span itself.
        let traced = try await runProcess("env", ["GREY_TRACE_ENDPOINT=\(receiver.endpoint)", greyctl, "--trace", "kv", "put", "traced", "v", "--endpoints", cluster.address(follower)])
        let idLine = traced.output.split(separator: "\n").first { $0.hasPrefix("trace id: ") }
        let traceID = try #require(idLine.map { String($0.dropFirst("trace id: ".count)) }, "\(traced.output)")
        #expect(traced.status == 0 && traceID.count == 32 && traced.output.contains("OK"), "\(traced.output)")

        // Spans are exported in batches within a second of ending.
        func named(_ name: String, on node: Int, in spans: [[String: Any]]) -> [[String: Any]] {
            spans.filter { $0["name"] as? String == name && $0["node"] as? String == "\(node)" }
        }
        /// The followers the leader's replicate spans went to.
        func peersReplicatedTo(_ spans: [[String: Any]]) -> Set<Int> {
            Set(named("replicate", on: leader, in: spans).compactMap { ($0["attributes"] as? [String: Any])?["grey.peer"] as? Int })
        }
        /// The leader's replicate spans to `node`: one per send of the entry.
        func replicates(to node: Int, in spans: [[String: Any]]) -> [[String: Any]] {
            named("replicate", on: leader, in: spans).filter { ($0["attributes"] as? [String: Any])?["grey.peer"] as? Int == node }
        }
        /// Every send of the entry to each follower has its append span there (batches end apart).
        func appendsMatchSends(_ spans: [[String: Any]]) -> Bool {
            [follower, other].allSatisfy { node in
                named("grey.v1.ClusterService/AppendEntries", on: node, in: spans).count == replicates(to: node, in: spans).count
            }
        }
        var spans: [[String: Any]] = []
        for _ in 0..<100 {
            spans = receiver.spans()
            if !named("fsync", on: other, in: spans).isEmpty && !named("grey.v1.KV/Put", on: follower, in: spans).isEmpty
                && spans.contains(where: { $0["service"] as? String == "greyctl" })
                && !named("reply", on: leader, in: spans).isEmpty && peersReplicatedTo(spans).count == 2 && appendsMatchSends(spans) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let summary = spans.map { "\($0["node"] as? String ?? $0["service"] as? String ?? "?"):\($0["name"] ?? "?")" }.sorted().joined(separator: ", ")
        #expect(spans.allSatisfy { $0["trace"] as? String == traceID }, "only the traced call's spans: \(summary)")
        #expect(Set(spans.compactMap { $0["node"] as? String }) == ["0", "1", "2"], "\(summary)")
        // Where the client called: its server span and the hop to the leader.
        #expect(named("grey.v1.KV/Put", on: follower, in: spans).count == 1, "\(summary)")
        #expect(named("forward to leader", on: follower, in: spans).count == 1, "\(summary)")
        // The leader: the call, and what the Raft loop did with its entry.
        for name in ["grey.v1.KV/Put", "propose", "commit", "fsync", "apply", "reply"] {
            #expect(named(name, on: leader, in: spans).count == 1, "one \(name) on the leader: \(summary)")
        }
        #expect(peersReplicatedTo(spans) == [follower, other], "a replicate span per follower: \(summary)")
        // Each follower: the append that carried the entry, and its own fsync of it. A leader
        // sends the entry again when a follower's pipeline stalls for two heartbeats (a slow
        // disk under the suite's load): then there is one append per send, the fsync still one.
        for node in [follower, other] {
            let sends = replicates(to: node, in: spans).count
            #expect(sends >= 1 && named("grey.v1.ClusterService/AppendEntries", on: node, in: spans).count == sends, "node \(node): \(summary)")
            #expect(named("fsync", on: node, in: spans).count == 1, "node \(node): \(summary)")
        }
        // One tree: greyctl's root span ("greyctl put", from its own process), the call it made
        // under it, and every other span's parent in the trace.
        let ids = Set(spans.compactMap { $0["span"] as? String })
        let roots = spans.filter { !ids.contains($0["parent"] as? String ?? "") }
        let root = try #require(roots.first, "\(summary)")
        #expect(roots.count == 1 && root["service"] as? String == "greyctl" && root["name"] as? String == "greyctl put" && (root["parent"] as? String ?? "x").isEmpty, "\(summary)")
        #expect(named("grey.v1.KV/Put", on: follower, in: spans).first?["parent"] as? String == root["span"] as? String)
        // Each of the follower's append spans hangs under one of the leader's replicate spans to it.
        for node in [follower, other] {
            let parents = Set(replicates(to: node, in: spans).compactMap { $0["span"] as? String })
            let appends = named("grey.v1.ClusterService/AppendEntries", on: node, in: spans)
            #expect(!appends.isEmpty && appends.allSatisfy { parents.contains($0["parent"] as? String ?? "") }, "node \(node)'s appends under the replicate spans to it")
        }
        // A span ends after it starts, and the leader's fsync lies inside its commit span.
        #expect(spans.allSatisfy { ($0["end"] as? Int ?? 0) >= ($0["start"] as? Int ?? 1) })
        if let commit = named("commit", on: leader, in: spans).first, let fsync = named("fsync", on: leader, in: spans).first {
            #expect(fsync["parent"] as? String == commit["span"] as? String)
        }

        // A linearizable read through the other follower: forwarded, and on the leader the wait
        // for its ReadIndex round under the Get's server span.
        let read = try await runProcess(greyctl, ["--trace", "kv", "get", "traced", "--endpoints", cluster.address(other)])
        let readID = try #require(read.output.split(separator: "\n").first { $0.hasPrefix("trace id: ") }.map { String($0.dropFirst("trace id: ".count)) }, "\(read.output)")
        var readSpans: [[String: Any]] = []
        for _ in 0..<100 {
            readSpans = receiver.spans().filter { $0["trace"] as? String == readID }
            if !named("read index", on: leader, in: readSpans).isEmpty && !named("grey.v1.KV/Get", on: other, in: readSpans).isEmpty { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let readIndex = named("read index", on: leader, in: readSpans).first
        let leaderGet = named("grey.v1.KV/Get", on: leader, in: readSpans).first
        #expect(readIndex != nil && readIndex?["parent"] as? String == leaderGet?["span"] as? String, "\(readSpans.map { $0["name"] ?? "?" })")
        #expect(!named("forward to leader", on: other, in: readSpans).isEmpty)
    }

    @Test("with GREY_TRACE_SAMPLE=1 a client's call is traced without asking, and peers' Raft messages only ever continue such a trace: no heartbeat or vote starts one")
    func sampledWithoutAsking() async throws {
        let receiver = try Receiver()
        defer { receiver.stop() }
        let cluster = try GreydCluster(count: 3, settings: ["GREY_TRACE_ENDPOINT": receiver.endpoint, "GREY_TRACE_SAMPLE": "1"])
        defer { cluster.stopAll() }
        let leader = try await cluster.waitForLeader()
        let put = try await runProcess(FsckTests.greyctl.path, ["kv", "put", "sampled", "v", "--endpoints", cluster.address(leader)])
        #expect(put.status == 0 && !put.output.contains("trace id"), "\(put.output)")
        var spans: [[String: Any]] = []
        for _ in 0..<100 {
            spans = receiver.spans()
            if spans.contains(where: { $0["name"] as? String == "grey.v1.KV/Put" }) && spans.filter({ $0["name"] as? String == "fsync" }).count >= 3 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        // Heartbeats went on all the while (50 ms apart): none may be a trace of its own.
        try await Task.sleep(for: .milliseconds(1500))
        spans = receiver.spans()
        let puts = spans.filter { $0["name"] as? String == "grey.v1.KV/Put" }
        #expect(puts.count == 1 && (puts.first?["parent"] as? String ?? "x").isEmpty, "the Put is a trace of its own (a root span)")
        let ids = Set(spans.compactMap { $0["span"] as? String })
        let peerRoots = spans.filter {
            ($0["name"] as? String ?? "").hasPrefix("grey.v1.ClusterService/") && ($0["name"] as? String) != "grey.v1.ClusterService/GetClusterStatus"
                && !ids.contains($0["parent"] as? String ?? "")
        }
        #expect(peerRoots.isEmpty, "Raft messages that started traces: \(peerRoots.map { $0["name"] ?? "?" })")
        let putTrace = puts.first?["trace"] as? String
        #expect(Set(spans.filter { $0["trace"] as? String == putTrace }.compactMap { $0["node"] as? String }) == ["0", "1", "2"])
    }
}
