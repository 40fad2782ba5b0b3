import Foundation
import GreyRPC
import GreyTestSupport
import GreyWire
import Testing

/// Clients Grey did not write — Python's grpcio, h2load, nghttp — against a real 3-node greyd
/// cluster (the wire-layer suite runs them against in-memory test services only).
@Suite("Stock clients against a real cluster", .serialized)
struct StockClientClusterTests {
    @Test("grpcio (grey.v1 and etcd's API), h2load and nghttp against three greyd: every call answered right, every put committed")
    func stockClients() async throws {
        // A 1 s election timeout: this checks every call's answer, and debug nodes applying on
        // their one event loop beside the other suites can miss 150 ms of heartbeats and change
        // leaders mid-load (a clean-clone run: 43 of 2,000 forwarded puts UNAVAILABLE).
        let cluster = try GreydCluster(count: 3, settings: ["GREY_ELECTION_TIMEOUT": "1s"])
        defer { cluster.stopAll() }
        let leader = try await cluster.waitForLeader()
        let follower = (leader + 1) % 3

        let python = try await runProcess(
            "python3", [RepositoryPaths.tools.appendingPathComponent("grpc_cluster_check.py").path, (0..<3).map(cluster.address).joined(separator: ",")])
        #expect(python.status == 0 && python.output.contains(" 0 failed"), "\(python.output)\(cluster.logTails())")
        // etcd's API through grpcio stubs generated from Protos/etcd, on the same cluster and store.
        let etcd = try await runProcess(
            "python3", [RepositoryPaths.tools.appendingPathComponent("etcd_grpc_check.py").path, (0..<3).map(cluster.address).joined(separator: ",")])
        #expect(etcd.status == 0 && etcd.output.contains(" 0 failed"), "\(etcd.output)\(cluster.logTails())")

        // h2load: 2,000 puts over 8 connections × 32 streams to a follower (each forwarded).
        let before = try await Self.putCounts(cluster, follower)
        let body = cluster.directory.appendingPathComponent("put.bin")
        try Data(GRPCMessageFramer.frame(PutRequest(key: Array("h2load-key".utf8), value: [UInt8](repeating: 0x76, count: 256)).encoded()))
            .write(to: body)
        let requests = 2_000
        let load = try await runProcess("h2load", [
            "-n", "\(requests)", "-c", "8", "-m", "32", "-d", body.path, "-H", "content-type: application/grpc", "-H", "te: trailers",
            "http://\(cluster.address(follower))\(KVMethods.put.path)",
        ])
        #expect(load.output.contains("requests: \(requests) total, \(requests) started, \(requests) done, \(requests) succeeded"), "\(load.output)")
        // h2load counts HTTP 200s; gRPC errors travel as 200 with a grpc-status trailer. The
        // follower's own counts say every one of them ended with grpc-status 0.
        let after = try await Self.putCounts(cluster, follower)
        #expect(after["OK", default: 0] - before["OK", default: 0] == Double(requests), "Put counts before \(before), after \(after)")
        #expect(after.filter { $0.key != "OK" && $0.value != before[$0.key, default: 0] }.isEmpty, "a Put ended with an error: before \(before), after \(after)")

        // nghttp: one call by hand, trailers and all.
        let getBody = cluster.directory.appendingPathComponent("get.bin")
        try Data(GRPCMessageFramer.frame(GetRequest(key: Array("h2load-key".utf8)).encoded())).write(to: getBody)
        let single = try await runProcess("nghttp", [
            "-v", "-t", "8", "-d", getBody.path, "-H", "content-type: application/grpc", "-H", "te: trailers",
            "http://\(cluster.address(leader))\(KVMethods.get.path)",
        ])
        #expect(single.output.contains("grpc-status: 0"), "\(single.output)")
    }

    /// Puts `node` answered, by gRPC status code, from its /metrics.
    static func putCounts(_ cluster: GreydCluster, _ node: Int) async throws -> [String: Double] {
        let metrics = try await runProcess("curl", ["-s", "http://\(cluster.address(node))/metrics"])
        var counts: [String: Double] = [:]
        for line in metrics.output.split(separator: "\n") where line.hasPrefix("grey_rpc_requests_total{") && line.contains("/grey.v1.KV/Put") {
            guard let code = line.split(separator: "code=\"").last?.split(separator: "\"").first,
                let value = line.split(separator: " ").last.flatMap({ Double($0) })
            else { continue }
            counts[String(code)] = value
        }
        return counts
    }
}
