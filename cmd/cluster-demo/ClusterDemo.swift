import ArgumentParser
import Foundation
import GreyLocalCluster
import GreyRPC
import GreyRaft
import GreyWire

/// cluster-demo: starts real Grey nodes in this process on loopback and walks the scenarios
/// a Raft cluster must survive, narrating each and checking what a user would notice.
/// Exits 0 only if every check held.
@main
struct ClusterDemo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster-demo",
        abstract: "Run a Grey cluster in one process and walk it through elections, failures, partitions, joins and leaves.",
        version: GreyVersion.current)

    @Option(help: "Nodes to found the cluster with (3 to 9).") var nodes = 5
    @Option(name: .customLong("data-dir"), help: "Where the nodes keep their data (default: a new temporary directory, removed at the end).")
    var dataDir: String?

    func validate() throws {
        guard (3...9).contains(nodes) else { throw ValidationError("--nodes must be between 3 and 9") }
    }

    func run() async throws {
        let directory = dataDir ?? NSTemporaryDirectory() + "grey-demo-\(ProcessInfo.processInfo.processIdentifier)"
        if dataDir != nil, FileManager.default.fileExists(atPath: directory) {
            throw ValidationError("\(directory) already exists; give a new directory")
        }
        let cluster = LocalCluster(directory: directory)
        let demo = Narrator()
        do {
            try await Scenarios(cluster: cluster, size: nodes, narrator: demo).run()
        } catch {
            demo.fail("stopped by an unexpected error: \(error)")
        }
        await cluster.shutdown()
        if dataDir == nil { try? FileManager.default.removeItem(atPath: directory) }
        print("\ncluster-demo: \(demo.passed) checks passed, \(demo.failed) failed")
        if demo.failed > 0 { throw ExitCode(1) }
    }
}
