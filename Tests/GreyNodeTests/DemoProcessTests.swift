import Foundation
import GreyTestSupport
import Testing

/// cluster-demo and cluster-cli: real nodes in one process, as a newcomer runs them.
@Suite("cluster-demo and cluster-cli")
struct DemoProcessTests {
    static let binaries = RepositoryPaths.root.appendingPathComponent(".build/debug")

    @Test("cluster-demo walks every scenario, narrates it and exits 0")
    func demo() async throws {
        let (status, output) = try await runProcess(Self.binaries.appendingPathComponent("cluster-demo").path, ["--nodes", "5"])
        #expect(status == 0, "\(output)")
        for chapter in [
            "Bootstrap and election", "Replication", "Leader failure and re-election", "Partition: leader cut off in a minority",
            "Heal and catch-up", "A new node joins", "Members leave",
        ] {
            #expect(output.contains(chapter), "no chapter '\(chapter)' in:\n\(output)")
        }
        #expect(output.contains("the minority refuses writes"), "\(output)")
        #expect(output.contains(" 0 failed"), "\(output)")
        #expect(!output.contains("✗"), "\(output)")
    }

    @Test("cluster-demo refuses a bad node count with one line")
    func demoBadArguments() async throws {
        let (status, output) = try await runProcess(Self.binaries.appendingPathComponent("cluster-demo").path, ["--nodes", "1"])
        #expect(status != 0)
        #expect(output.contains("--nodes must be between 3 and 9"), "\(output)")
    }

    @Test("cluster-cli runs a scripted session: partition stops the minority, heal and restart bring it back")
    func scriptedSession() async throws {
        let script = """
            init 3
            put colour blue via 1
            sleep 200
            partition 0
            put colour red via 0
            get colour via 0 stale
            get colour via 2
            heal
            kill 2
            put colour green via 1
            restart 2
            leader
            add
            status
            get colour via 3 stale
            remove 3
            get colour via 9
            stop
            """
        let (status, output) = try await runProcess(Self.binaries.appendingPathComponent("cluster-cli").path, [], input: script + "\n")
        let lines = output.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("started 3 nodes") == true, "\(output)")
        #expect(lines.contains { $0.hasPrefix("OK (applied index") && $0.hasSuffix("via node 1)") }, "\(output)")
        // The cut-off node cannot get a write through; its own stale copy still answers.
        let cut = try #require(lines.firstIndex { $0.hasPrefix("cut {0} off") }, "\(output)")
        #expect(lines[cut + 1].hasPrefix("error: "), "\(output)")
        #expect(lines.filter { $0 == "blue" }.count == 2, "\(output)")
        #expect(lines.contains("node 2 killed") && lines.contains("node 2 restarted"), "\(output)")
        #expect(lines.contains { $0.hasPrefix("leader: node ") }, "\(output)")
        #expect(lines.contains { $0.hasPrefix("node 3 at 127.0.0.1:") && $0.hasSuffix("joined as a learner, caught up and was promoted to voter") }, "\(output)")
        #expect(lines.contains { $0.hasPrefix("ID  ADDRESS") }, "\(output)")
        // Written through a follower just after the leader died: forwarded to the next leader.
        #expect(lines.filter { $0.hasPrefix("OK (applied index") && $0.hasSuffix("via node 1)") }.count == 2, "\(output)")
        #expect(lines.contains("green"), "the new node serves the latest write:\n\(output)")
        #expect(lines.contains("node 3 removed and stopped"), "\(output)")
        #expect(lines.contains("error: no such member 9"), "\(output)")
        #expect(lines.last == "cluster stopped, data deleted", "\(output)")
        #expect(status == 1, "a script with failed commands exits 1:\n\(output)")
    }
}
