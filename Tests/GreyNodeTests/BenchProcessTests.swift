import Foundation
import GreyRPC
import GreyTestSupport
import GreyWire
import Testing

extension GreydProcessTests {
    @Test("greyctl bench loads the leader, reports percentiles that add up, and really writes its keys")
    func bench() async throws {
        let cluster = try GreydCluster(count: 3)
        defer { cluster.stopAll() }
        let leader = try await cluster.waitForLeader()
        let follower = (leader + 1) % 3
        let (status, output) = try await runProcess(
            FsckTests.greyctl.path,
            ["bench", "--endpoints", cluster.address(follower), "--requests", "300", "--clients", "16", "--key-space", "50", "--value-size", "8", "-o", "json"])
        #expect(status == 0, "\(output)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any], "\(output)")
        #expect(report["target"] as? String == cluster.address(leader), "the load goes to the leader, found through a follower")
        #expect(report["succeeded"] as? Int == 300 && report["errors"] as? Int == 0, "\(output)")
        let latency = try #require(report["latency_ms"] as? [String: Double])
        let ordered = ["min", "p50", "p90", "p99", "p99.9", "max"].compactMap { latency[$0] }
        #expect(ordered.count == 6 && ordered == ordered.sorted() && ordered[0] > 0, "percentiles out of order: \(latency)")
        // Every one of the 50 keys was put: a linearizable read on another node finds each.
        for index in 0..<50 {
            let got = try await cluster.channel(follower).call(KVMethods.get, GetRequest(key: Array("bench/\(index)".utf8)), timeout: .seconds(5))
            #expect(got.found && got.value.count == 8, "bench/\(index)")
        }

        let (readStatus, readOutput) = try await runProcess(
            FsckTests.greyctl.path,
            ["bench", "--endpoints", cluster.address(leader), "--operation", "get", "--consistency", "lease", "--requests", "200", "--key-space", "50"])
        #expect(readStatus == 0, "\(readOutput)")
        #expect(readOutput.contains("200 succeeded, 0 failed"), "\(readOutput)")
        #expect(readOutput.contains("p99.9"), "\(readOutput)")

        cluster.stopAll()
        let (downStatus, downOutput) = try await runProcess(FsckTests.greyctl.path, ["bench", "--endpoints", cluster.address(leader), "--requests", "5"])
        #expect(downStatus == 1)
        #expect(downOutput == "greyctl: connection refused to \(cluster.address(leader))\n", "\(downOutput)")
    }
}
