import Foundation
import GreyRPC
import GreyTestSupport
import GreyWire
import Testing

/// Clients Grey did not write: Python's grpcio, nghttp2's h2load and nghttp.
@Suite("Stock HTTP/2 and gRPC clients against a Grey server")
struct ExternalClientTests {
    @Test("a Python grpcio client generated from Protos/ calls every method and gets the right statuses")
    func pythonGRPCClient() async throws {
        let server = try await TestServer.start()
        let result = try await runProcess("python3", [RepositoryPaths.tools.appendingPathComponent("grpc_client_check.py").path, server.target])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains(" 0 failed"), "\(result.output)")
        try await server.stop()
    }

    @Test("h2load: 1024 concurrent streams over 16 connections, every reply grpc-status 0")
    func h2loadManyStreams() async throws {
        let server = try await TestServer.start()
        let body = FileManager.default.temporaryDirectory.appendingPathComponent("grey-h2load-\(UUID().uuidString).bin")
        try Data(GRPCMessageFramer.frame(PutRequest(key: Array("bench-key".utf8), value: [UInt8](repeating: 0x76, count: 256)).encoded()))
            .write(to: body)
        defer { try? FileManager.default.removeItem(at: body) }
        let requests = 20_000
        let result = try await runProcess(
            "h2load",
            [
                "-n", "\(requests)", "-c", "16", "-m", "64", "-d", body.path,
                "-H", "content-type: application/grpc", "-H", "te: trailers",
                "http://\(server.target)\(KVMethods.put.path)",
            ])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("requests: \(requests) total, \(requests) started, \(requests) done, \(requests) succeeded, 0 failed, 0 errored"), "\(result.output)")
        #expect(result.output.contains("status codes: \(requests) 2xx"), "\(result.output)")
        // h2load does not read trailers; the server's own count shows each call ended with grpc-status 0.
        #expect(server.server.statistics.calls(.ok) == requests)
        #expect(GRPCStatus.Code.allCases.filter { $0 != .ok }.allSatisfy { server.server.statistics.calls($0) == 0 })
        try await server.stop()
    }

    @Test("nghttp sees grpc-timeout enforced by the server itself (the client sets no deadline)")
    func serverSideDeadline() async throws {
        let server = try await TestServer.start()
        let body = FileManager.default.temporaryDirectory.appendingPathComponent("grey-nghttp-\(UUID().uuidString).bin")
        try Data(GRPCMessageFramer.frame(GetRequest(key: Array("slow".utf8)).encoded())).write(to: body)
        defer { try? FileManager.default.removeItem(at: body) }
        let result = try await runProcess(
            "nghttp",
            ["-v", "-t", "8", "-d", body.path, "-H", "content-type: application/grpc", "-H", "te: trailers", "-H", "grpc-timeout: 300m",
             "http://\(server.target)\(KVMethods.get.path)"])
        #expect(result.output.contains("grpc-status: 4"), "\(result.output)")
        #expect(result.output.contains("grpc-message: deadline exceeded"), "\(result.output)")
        // The handler's task was cancelled, not left sleeping.
        for _ in 0..<500 where await server.store.cancelledCalls == 0 { try await Task.sleep(for: .milliseconds(20)) }  // up to 10 s on a busy machine
        #expect(await server.store.cancelledCalls == 1)
        #expect(server.server.statistics.calls(.deadlineExceeded) == 1)
        try await server.stop()
    }
}
