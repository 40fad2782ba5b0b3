import ArgumentParser
import Foundation
import GreyRPC
import GreyWire
import NIOSSL

/// greyctl: operate and query a Grey cluster.
@main
struct Greyctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "greyctl", abstract: "Operate and query a Grey cluster.", version: GreyVersion.current,
        subcommands: [Cluster.self, Consensus.self, KV.self, Alarm.self, Snapshot.self, Fsck.self, Repair.self, Bench.self])

    /// ArgumentParser's own main, on the arguments with the shared options moved after the
    /// subcommand (`GlobalOptions`).
    static func main() async {
        do {
            var command = try parseAsRoot(GlobalOptions.movedAfterSubcommand(Array(CommandLine.arguments.dropFirst())))
            CommandTrace.commandName = "greyctl " + type(of: command)._commandName
            if var asynchronous = command as? AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
            await CommandTrace.finish()
        } catch {
            await CommandTrace.finish()
            exit(withError: error)
        }
    }
}

/// Options every command shares.
struct ClientOptions: ParsableArguments {
    @Option(name: .long, help: "Comma-separated host:port of cluster members (GREY_ENDPOINTS, default localhost:5000).")
    var endpoints: String?

    @Option(name: .shortAndLong, help: "table or json.")
    var output: OutputFormat = .table

    @Option(name: .long, help: "How long to wait for an answer, as etcdctl writes it: 500ms, 5s, 1m30s.")
    var timeout: String = "5s"

    @Flag(name: .long, help: "Trace this command's calls: start a W3C trace, send it with every call (traceparent) and print its id on stderr; bench makes each request a trace of its own. The nodes export the spans to their --trace-endpoint.")
    var trace = false

    @OptionGroup var tls: TLSOptions

    var endpointList: [String] { greyctl.endpointList(from: endpoints) }

    /// `--timeout`, checked by `validate()` before any command runs.
    var timeoutDuration: Duration { DurationText.parse(timeout) ?? .seconds(5) }

    func validate() throws {
        guard let parsed = DurationText.parse(timeout), parsed > .zero else {
            throw ValidationError("--timeout '\(timeout)' is not a duration: write it as etcdctl does, like 500ms, 5s or 1m30s")
        }
    }

    /// Calls `method` on the first endpoint that answers; the error of the last one otherwise.
    /// Only a failure to connect moves on to the next endpoint: an answer is an answer.
    func call<Request, Response>(_ method: GRPCMethod<Request, Response>, _ request: Request) async throws -> Response {
        var lastError = GRPCStatus(.unavailable, "no endpoints given")
        let tlsContext = try tls.context()
        for endpoint in endpointList {
            let channel: GRPCChannel
            do {
                channel = try GRPCChannel(target: endpoint, tls: tlsContext)
            } catch {
                lastError = error
                continue
            }
            let result: Result<Response, GRPCStatus>
            do {
                result = .success(try await channel.call(method, request, timeout: timeoutDuration, metadata: trace ? CommandTrace.metadata() : []))
            } catch {
                result = .failure(error)
            }
            await channel.close()
            switch result {
            case .success(let response):
                return response
            case .failure(let status):
                lastError = status
                if !GRPCChannel.neverConnected(status) { throw CLIError(status) }
            }
        }
        throw CLIError(lastError)
    }

    /// The status of every endpoint given and of every member they report, or the error.
    /// A bad `--cacert` is an error here as everywhere: never a quiet fall back to cleartext.
    func statuses() async throws -> [(String, Result<GetClusterStatusResponse, GRPCStatus>)] {
        await clusterStatuses(endpoints: endpointList, timeout: timeoutDuration, tls: try tls.context())
    }
}

/// `--endpoints`, else GREY_ENDPOINTS, else localhost:5000, split at commas.
func endpointList(from flag: String?) -> [String] {
    let text = flag ?? ProcessInfo.processInfo.environment["GREY_ENDPOINTS"] ?? "localhost:5000"
    return text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
}

/// The status of every endpoint given and of every member they report, or the error.
func clusterStatuses(endpoints: [String], timeout: Duration, tls: NIOSSLContext? = nil) async -> [(String, Result<GetClusterStatusResponse, GRPCStatus>)] {
    var results: [(String, Result<GetClusterStatusResponse, GRPCStatus>)] = []
    var queue = endpoints
    var seen = Set<String>()
    while !queue.isEmpty {
        let endpoint = queue.removeFirst()
        guard seen.insert(endpoint).inserted else { continue }
        guard let channel = try? GRPCChannel(target: endpoint, tls: tls) else {
            results.append((endpoint, .failure(GRPCStatus(.invalidArgument, "endpoint '\(endpoint)' is not host:port"))))
            continue
        }
        do {
            let status = try await channel.call(ClusterMethods.getClusterStatus, GetClusterStatusRequest(), timeout: timeout)
            results.append((endpoint, .success(status)))
            let known = Set(results.compactMap { try? $0.1.get().nodeID })
            queue += status.members.filter { !$0.address.isEmpty && !known.contains($0.id) }.map(\.address)
        } catch {
            results.append((endpoint, .failure(error)))
        }
        await channel.close()
    }
    return results
}

enum OutputFormat: String, ExpressibleByArgument {
    case table, json
}

/// A failure shown as one line on stderr with a non-zero exit.
struct CLIError: Error, CustomStringConvertible {
    let description: String

    init(_ status: GRPCStatus) {
        switch status.code {
        case .unavailable where status.message.contains("no leader") || status.message.contains("quorum"):
            description = "quorum not available (\(status.message))"
        case .deadlineExceeded:
            description = "quorum not available (no answer in time)"
        default:
            description = status.message.isEmpty ? status.code.name : status.message
        }
    }
}

extension AsyncParsableCommand {
    /// Runs `body`, turning any failure into one line on stderr and exit status 1.
    func reporting(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let exit as ExitCode {
            throw exit
        } catch {
            FileHandle.standardError.write(Data("greyctl: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

func printJSON(_ object: Any) {
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])) ?? Data("{}".utf8)
    print(String(decoding: data, as: UTF8.self))
}

func printTable(_ header: [String], _ rows: [[String]]) {
    let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
    func line(_ cells: [String]) -> String {
        zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
    }
    print(line(header))
    rows.forEach { print(line($0)) }
}
