import ArgumentParser
import Foundation
import GreyRPC
import GreyRaft
import GreyStorage
import GreyWire

/// `greyctl snapshot create | restore`: backups of a live cluster's data, and seeding a new
/// cluster from one.
struct Snapshot: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Back up a live cluster's data, or seed a new cluster's data directory from a backup.",
        subcommands: [Create.self, Restore.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Save the state machine of a live node (the leader when one is known) to a file.",
            discussion: "The file is written beside the output under a temporary name, checked end to end (record count and CRC-32C), and only then renamed into place.")
        // Not ClientOptions: DESIGN names this command's file option --output, which is
        // ClientOptions' format option elsewhere.
        @Option(name: .long, help: "Comma-separated host:port of cluster members (GREY_ENDPOINTS, default localhost:5000).")
        var endpoints: String?
        @Option(name: .long, help: "The backup file to write.") var output: String
        @Flag(name: .long, help: "Print the result as JSON.") var json = false
        @OptionGroup var tls: TLSOptions

        var endpointList: [String] { greyctl.endpointList(from: endpoints) }

        func run() async throws {
            try await reporting {
                let source = try await chooseNode()
                let partial = output + ".part"
                let started = Date()
                do {
                    try await HTTPDownload.get("/snapshot", from: source, tls: try tls.context(protocols: ["http/1.1"]), to: partial)
                } catch {
                    try? FileManager.default.removeItem(atPath: partial)
                    throw error
                }
                let checked: (metadata: SnapshotMetadata, records: UInt64)
                do {
                    checked = try RaftStorage.verifySnapshot(file: partial)
                } catch {
                    try? FileManager.default.removeItem(atPath: partial)
                    throw error
                }
                _ = try? FileManager.default.removeItem(atPath: output)
                try FileManager.default.moveItem(atPath: partial, toPath: output)
                let bytes = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? 0
                let seconds = Date().timeIntervalSince(started)
                if json {
                    printJSON([
                        "file": output, "source": source, "index": checked.metadata.index.rawValue, "term": checked.metadata.term.rawValue,
                        "keys": checked.records, "bytes": bytes, "seconds": (seconds * 1000).rounded() / 1000,
                    ])
                } else {
                    print("snapshot saved to \(output): index \(checked.metadata.index.rawValue), term \(checked.metadata.term.rawValue), \(checked.records) records, \(bytes) bytes from \(source) in \(String(format: "%.2f", seconds)) s")
                }
            }
        }

        /// The leader's address when some endpoint knows it, else the first endpoint that answers.
        private func chooseNode() async throws -> String {
            var firstAnswering: String?
            for (endpoint, result) in await clusterStatuses(endpoints: endpointList, timeout: .seconds(5), tls: try tls.context()) {
                guard case .success(let status) = result else { continue }
                if firstAnswering == nil { firstAnswering = endpoint }
                if status.hasLeader, let leader = status.members.first(where: { $0.id == status.leaderID }), !leader.address.isEmpty {
                    return leader.address
                }
            }
            guard let firstAnswering else { throw CLIError(GRPCStatus(.unavailable, "connection refused to \(endpointList.joined(separator: ", "))")) }
            return firstAnswering
        }
    }

    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Seed a new, empty data directory from a backup.",
            discussion: "Restore the same file into each node's directory of the new cluster, then start each greyd there with --peers. The new cluster's membership comes from its peers, not from the backup.")
        @Option(name: .long, help: "The backup file to read.") var input: String
        @Option(name: .customLong("data-dir"), help: "The data directory to create.") var dataDir: String
        @Option(name: .shortAndLong, help: "table or json.") var output: OutputFormat = .table

        func run() async throws {
            try await reporting {
                guard FileManager.default.fileExists(atPath: input) else { throw ValidationError("no backup file at \(input)") }
                let checked = try RaftStorage.verifySnapshot(file: input)
                let metadata = try RaftStorage.restore(from: input, into: dataDir)
                if output == .json {
                    printJSON(["data_dir": dataDir, "index": metadata.index.rawValue, "term": metadata.term.rawValue, "keys": checked.records])
                } else {
                    print("restored \(checked.records) keys at index \(metadata.index.rawValue), term \(metadata.term.rawValue) into \(dataDir); start greyd on it with --peers")
                }
            }
        }
    }
}
