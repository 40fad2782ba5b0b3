import Foundation
import GreyTestSupport
import Testing

/// Clients that start requests and never finish them (tools/hostile_bodies.py, Python h2)
/// against a real greyd: its memory stays bounded and it keeps serving a well-behaved client.
@Suite("Hostile request bodies", .serialized)
struct HostileClientTests {
    /// 2 × the 256 MiB request-body budget (a message buffer grows by doubling) plus the
    /// node's own ~60 MiB and some slack. Before the bound, three connections took a node to 2.6 GiB.
    static let maxRSSMiB = 640

    @Test("3 and then 12 connections of 256 streams, each declaring 4 MiB and sending 3.5 MiB: RSS stays bounded, puts keep working", arguments: [3, 12])
    func unfinishedRequests(connections: Int) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("grey-hostile-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let port = TestPorts.reserve()
        let node = try GreydCluster.startAlone(id: 1, port: port, directory: directory)
        defer {
            node.terminate()
            node.waitUntilExit()
        }
        try await GreydCluster.waitUntilServing(port: port)
        let result = try await runProcess("python3", [
            RepositoryPaths.tools.appendingPathComponent("hostile_bodies.py").path, "--target", "127.0.0.1:\(port)",
            "--pid", String(node.processIdentifier), "--connections", String(connections), "--streams", "256",
            "--seconds", "6", "--max-rss-mib", String(Self.maxRSSMiB),
        ])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("hostile bodies:"), "\(result.output)")
        #expect(node.isRunning)
    }
}
