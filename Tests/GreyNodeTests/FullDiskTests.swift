import Foundation
import GreyRPC
import GreyTestSupport
import GreyWire
import Testing

/// A real full disk (ENOSPC from RocksDB), not the quota: a follower's data directory on a
/// small tmpfs. Needs root to mount one; CI runs as root.
@Suite("a full disk", .serialized, .enabled(if: getuid() == 0, "mounting a small tmpfs needs root"))
struct FullDiskTests {
    static func run(_ command: String, _ arguments: [String]) async throws {
        let (status, output) = try await runProcess(command, arguments)
        guard status == 0 else { throw GRPCStatus(.internal, "\(command) \(arguments.joined(separator: " ")) failed: \(output)") }
    }

    @Test("a follower whose disk fills stops with one clear line and exit status 74, the cluster goes on; with room again it restarts, catches up and agrees")
    func followerDiskFills() async throws {
        let cluster = try GreydCluster(count: 3)
        defer { cluster.stopAll() }
        let leader = try await cluster.waitForLeader()
        let follower = (leader + 1) % 3

        // The follower's data moves onto a 12 MiB tmpfs.
        _ = cluster.stop(follower, signal: SIGTERM)
        let data = cluster.directory.appendingPathComponent("node-\(follower)")
        let aside = cluster.directory.appendingPathComponent("node-\(follower)-aside")
        try FileManager.default.moveItem(at: data, to: aside)
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: false)
        try await Self.run("mount", ["-t", "tmpfs", "-o", "size=12m,mode=0777", "tmpfs", data.path])
        defer {
            cluster.kill(follower)
            _ = try? Process.run(URL(fileURLWithPath: "/bin/umount"), arguments: ["-l", data.path]).waitUntilExit()
        }
        try await Self.run("cp", ["-a", aside.path + "/.", data.path])
        try cluster.start(follower)
        try await GreydCluster.waitUntilServing(port: cluster.basePort + follower)

        // 256 KiB values until the follower's disk is full (at most 80: 20 MiB).
        let channel = try cluster.channel(leader)
        let value = [UInt8]((0..<262_144).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) })
        var written = 0
        // A put that meets an election (the restarted follower, a loaded machine) is retried,
        // as a client would: this test is about the disk, not about elections.
        func put(_ key: String, _ value: [UInt8]) async throws {
            let deadline = ContinuousClock.now + .seconds(15)
            while true {
                do {
                    _ = try await channel.call(KVMethods.put, PutRequest(key: Array(key.utf8), value: value), timeout: .seconds(5))
                    return
                } catch {
                    guard error.code == .unavailable, ContinuousClock.now < deadline else { throw error }
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
        }
        for index in 0..<80 where cluster.processes[follower]?.isRunning == true {
            try await put("big-\(index)", value)
            written += 1
        }
        let stopped = try #require(cluster.processes[follower])
        let deadline = ContinuousClock.now + .seconds(10)
        while stopped.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!stopped.isRunning, "80 puts of 256 KiB did not fill a 12 MiB disk")
        #expect(stopped.terminationStatus == 74, "exit status \(stopped.terminationStatus)")
        let log = cluster.log(follower)
        let last = log.split(separator: "\n").last.map(String.init) ?? ""
        #expect(last.contains("CRITICAL") && last.contains("No space left on device") && last.contains("free space and start the node again"), "\(last)")
        for crash in ["Fatal error", "Stack dump", "terminate called", "Segmentation", "backtrace"] {
            #expect(!log.contains(crash), "a crash trace: \(crash)")
        }

        // The other two go on taking writes.
        try await put("after", [1])

        // Started again on the full disk, it refuses with the reason, no crash trace.
        // As the node's own user, as the cluster runs it: files root made would be root's.
        let asNode = cluster.unprivileged ? ["setpriv", "--reuid=\(60_000 + follower)", "--regid=\(60_000 + follower)", "--clear-groups"] : []
        let refused = try await runProcess((asNode.first ?? GreydCluster.binary.path), Array(asNode.dropFirst()) + (asNode.isEmpty ? [] : [GreydCluster.binary.path]) + [
            "--node-id", String(follower), "--listen", cluster.address(follower), "--data-dir", data.path,
            "--peers", (0..<3).filter { $0 != follower }.map(cluster.address).joined(separator: ","),
        ])
        #expect(refused.status == 2 && refused.output.hasPrefix("greyd: ") && refused.output.contains("is full: free space and start again"), "\(refused.output)")
        #expect(refused.output.split(separator: "\n").count == 1, "\(refused.output)")

        // Room again: the same node starts, catches up, and holds what the others hold.
        try await Self.run("mount", ["-o", "remount,size=256m", data.path])
        cluster.processes[follower] = nil
        try cluster.start(follower)
        try await GreydCluster.waitUntilServing(port: cluster.basePort + follower)
        try await cluster.waitUntilAllApplied()
        let stale = try await cluster.channel(follower).call(KVMethods.get, GetRequest(key: Array("after".utf8), consistency: .stale), timeout: .seconds(2))
        #expect(stale.found && stale.value == [1])
        var hashes: Set<UInt32> = []
        for node in 0..<3 {
            hashes.insert(try await cluster.channel(node).call(EtcdMaintenanceMethods.hashKV, Etcd.HashKVRequest(), timeout: .seconds(5)).hash)
        }
        #expect(hashes.count == 1, "the replicas disagree after the full disk: \(hashes)")
        #expect(written > 10)
    }
}
