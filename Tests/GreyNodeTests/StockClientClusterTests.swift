import Foundation
import GreyRPC
import GreyTestSupport
import GreyWire
import Testing

/// Clients Grey did not write — Python's grpcio, h2load, nghttp — against a real 3-node greyd
/// cluster (the wire-layer suite runs them against in-memory test services only).
@Suite("Stock clients against a real cluster", .serialized)
struct StockClientClusterTests {
    @Test("grpcio, h2load and nghttp against three greyd: every call answered right, every put committed")
    func stockClients() async throws {
        let cluster = try GreydCluster(count: 3)
        defer { cluster.stopAll() }
        let leader = try await cluster.waitForLeader()
        let follower = (leader + 1) % 3

        let python = try await runProcess(
            "python3", [RepositoryPaths.tools.appendingPathComponent("grpc_cluster_check.py").path, (0..<3).map(cluster.address).joined(separator: ",")])
        #expect(python.status == 0, "\(python.output)")
        #expect(python.output.contains(" 0 failed"), "\(python.output)")

        // h2load: 2,000 puts over 8 connections × 32 streams to a follower (each forwarded).
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
        // follower's own count says every one of them ended with grpc-status 0.
        let metrics = try await runProcess("curl", ["-s", "http://\(cluster.address(follower))/metrics"])
        let okLine = metrics.output.split(separator: "\n").first { $0.hasPrefix("grey_rpc_requests_total{") && $0.contains("/grey.v1.KV/Put") && $0.contains("code=\"OK\"") }
        let okPuts = okLine.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
        #expect(okPuts >= Double(requests), "\(okLine ?? "no OK count for Put in /metrics")")
        #expect(!metrics.output.split(separator: "\n").contains { $0.hasPrefix("grey_rpc_requests_total{") && $0.contains("/grey.v1.KV/Put") && !$0.contains("code=\"OK\"") && !$0.hasSuffix(" 0") },
                "a Put ended with an error status")

        // nghttp: one call by hand, trailers and all.
        let getBody = cluster.directory.appendingPathComponent("get.bin")
        try Data(GRPCMessageFramer.frame(GetRequest(key: Array("h2load-key".utf8)).encoded())).write(to: getBody)
        let single = try await runProcess("nghttp", [
            "-v", "-t", "8", "-d", getBody.path, "-H", "content-type: application/grpc", "-H", "te: trailers",
            "http://\(cluster.address(leader))\(KVMethods.get.path)",
        ])
        #expect(single.output.contains("grpc-status: 0"), "\(single.output)")
    }
}
