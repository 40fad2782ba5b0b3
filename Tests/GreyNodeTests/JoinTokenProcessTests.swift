import Foundation
import GreyRPC
import GreyTestSupport
import GreyWire
import Testing

extension GreydProcessTests {
    /// The members node `node` reports.
    func memberIDs(_ cluster: GreydCluster, via node: Int) async throws -> [UInt64] {
        try await cluster.channel(node).call(ClusterMethods.getClusterStatus, GetClusterStatusRequest(), timeout: .seconds(2)).members.map(\.id)
    }

    /// The members node `node` reports once they are `expected`, or after 20 s whatever they are.
    func members(_ cluster: GreydCluster, via node: Int, settlingOn expected: [UInt64]) async throws -> [UInt64] {
        let deadline = ContinuousClock.now + .seconds(20)
        while try await memberIDs(cluster, via: node) != expected, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        return try await memberIDs(cluster, via: node)
    }

    /// Waits for node `node`'s process to exit; returns its status and log.
    func exitOf(_ cluster: GreydCluster, _ node: Int, within limit: Duration = .seconds(20)) async throws -> (Int32, String)? {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if let process = cluster.processes[node], !process.isRunning {
                cluster.processes[node] = nil
                let log = try String(contentsOf: cluster.directory.appendingPathComponent("node-\(node).log"), encoding: .utf8)
                return (process.terminationStatus, log)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }

    @Test("--join-token: a joiner without it or with a wrong one is refused and changes nothing; with it, it joins; leaving needs it too")
    func joinToken() async throws {
        let cluster = try GreydCluster(count: 3, settings: ["GREY_JOIN_TOKEN": "correct horse"])
        defer { cluster.stopAll() }
        let leader = try await cluster.waitForLeader()
        let follower = (leader + 1) % 3

        try cluster.start(3, joining: follower, extra: ["GREY_JOIN_TOKEN": ""])
        let missing = try #require(try await exitOf(cluster, 3), "a joiner without the token kept running")
        #expect(missing.0 != 0)
        #expect(missing.1.contains("this cluster requires a join token"), "\(missing.1)")

        try cluster.start(3, joining: follower, extra: ["GREY_JOIN_TOKEN": "battery staple"])
        let wrong = try #require(try await exitOf(cluster, 3), "a joiner with a wrong token kept running")
        #expect(wrong.0 != 0)
        #expect(wrong.1.contains("wrong join token"), "\(wrong.1)")
        #expect(try await memberIDs(cluster, via: leader) == [0, 1, 2], "refused joins changed the membership")

        // The same data directory joins once it presents the token.
        try cluster.start(3, joining: follower)
        #expect(try await members(cluster, via: leader, settlingOn: [0, 1, 2, 3]) == [0, 1, 2, 3])

        // Removing a member: refused without the token (one line, exit 1), done with it.
        let greyctl = FsckTests.greyctl.path
        let refused = try await runProcess("env", ["GREY_JOIN_TOKEN=", greyctl, "cluster", "remove-member", "3", "--endpoints", cluster.address(follower)])
        #expect(refused.status == 1)
        #expect(refused.output.hasPrefix("greyctl: this cluster requires a join token"), "\(refused.output)")
        #expect(try await memberIDs(cluster, via: leader).contains(3))
        let removed = try await runProcess(greyctl, ["cluster", "remove-member", "3", "--join-token", "correct horse", "--endpoints", cluster.address(follower)])
        #expect(removed.status == 0, "\(removed.output)")
        #expect(try await memberIDs(cluster, via: leader) == [0, 1, 2])
    }
}
