import ArgumentParser
import Foundation
import GreyRPC
import GreyWire
import Histogram
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#endif

/// `greyctl bench`: a load generator for users sizing a cluster. It sends puts (or gets) from
/// many concurrent clients over a few HTTP/2 connections to the leader, shows a live progress
/// line, and ends with throughput and latency percentiles from an HdrHistogram (microsecond
/// resolution, 3 significant digits).
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load the cluster and report throughput and latency percentiles.",
        discussion: "Puts go to the leader (found through --endpoints); each is acknowledged only after a majority fsynced it.")

    @OptionGroup var options: ClientOptions
    @Option(help: "put, get or mixed (half each).") var operation: Operation = .put
    @Option(help: "Requests to send in all.") var requests = 10_000
    @Option(help: "Requests in flight at once.") var clients = 64
    @Option(help: "HTTP/2 connections the clients share.") var connections = 4
    @Option(name: .customLong("key-space"), help: "Distinct keys (bench/0 ... bench/N-1).") var keySpace = 10_000
    @Option(name: .customLong("value-size"), help: "Bytes per value.") var valueSize = 100
    @Option(help: "For gets: linearizable, lease or stale.") var consistency: String = "linearizable"

    enum Operation: String, ExpressibleByArgument { case put, get, mixed }

    func validate() throws {
        guard requests > 0, clients > 0, connections > 0, keySpace > 0 else {
            throw ValidationError("--requests, --clients, --connections and --key-space must be positive")
        }
        guard (0...(1 << 20)).contains(valueSize) else { throw ValidationError("--value-size must be between 0 and 1048576") }
        guard ["linearizable", "lease", "stale"].contains(consistency) else { throw ValidationError("consistency must be linearizable, lease or stale") }
    }

    func run() async throws {
        try await reporting {
            let target = try await leaderAddress()
            let tls = try options.tls.context()
            let channels = try (0..<connections).map { _ in try GRPCChannel(target: target, tls: tls) }
            let level: ReadConsistency = consistency == "stale" ? .stale : consistency == "lease" ? .lease : .linearizable
            let value = [UInt8]((0..<valueSize).map { _ in UInt8.random(in: 0x61...0x7a) })
            let progress = BenchProgress(total: requests)
            let timeout = options.timeoutDuration
            let trace = options.trace
            let started = ContinuousClock.now
            let reporter = Task { await progress.report(every: .milliseconds(250), since: started) }
            let histograms = await withTaskGroup(of: Histogram<UInt64>.self) { group in
                for client in 0..<clients {
                    let channel = channels[client % channels.count]
                    group.addTask {
                        var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
                        while let index = progress.claim() {
                            let key = Array("bench/\(index % keySpace)".utf8)
                            let isPut = operation == .put || (operation == .mixed && index % 2 == 0)
                            // With --trace each request is a sampled trace of its own: the load with
                            // full tracing, for measuring what tracing costs.
                            let metadata = trace ? CommandTrace.freshMetadata() : []
                            let begin = ContinuousClock.now
                            do {
                                if isPut {
                                    _ = try await channel.call(KVMethods.put, PutRequest(key: key, value: value), timeout: timeout, metadata: metadata)
                                } else {
                                    _ = try await channel.call(KVMethods.get, GetRequest(key: key, consistency: level), timeout: timeout, metadata: metadata)
                                }
                                let micros = (ContinuousClock.now - begin) / .microseconds(1)
                                _ = histogram.record(UInt64(max(1, micros.rounded())))
                                progress.finished(error: nil)
                            } catch {
                                progress.finished(error: (error as? GRPCStatus)?.description ?? "\(error)")
                            }
                        }
                        return histogram
                    }
                }
                var merged = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
                for await histogram in group { merged.add(histogram) }
                return merged
            }
            let elapsed = ContinuousClock.now - started
            reporter.cancel()
            await reporter.value
            for channel in channels { await channel.close() }
            let summary = BenchSummary(
                target: target, operation: operation.rawValue, clients: clients, connections: connections, elapsed: elapsed,
                histogram: histograms, failures: progress.failures)
            if options.output == .json { printJSON(summary.json) } else { summary.printReport() }
            if summary.errors == requests { throw CLIError(GRPCStatus(.unavailable, "every request failed: \(summary.firstError ?? "?")")) }
        }
    }

    /// The leader's address, found through any endpoint (the load goes there directly).
    private func leaderAddress() async throws -> String {
        var lastError = GRPCStatus(.unavailable, "no endpoints given")
        for (_, result) in try await options.statuses() {
            switch result {
            case .success(let status) where status.hasLeader:
                if let leader = status.members.first(where: { $0.id == status.leaderID }), !leader.address.isEmpty { return leader.address }
            case .success:
                lastError = GRPCStatus(.unavailable, "no leader available")
            case .failure(let error):
                lastError = error
            }
        }
        throw CLIError(lastError)
    }
}

/// Hands out request numbers to the clients and counts what finished, for the progress line.
final class BenchProgress: Sendable {
    private struct State {
        var claimed = 0
        var done = 0
        var errors = 0
        var firstError: String?
    }

    let total: Int
    private let state = NIOLockedValueBox(State())

    init(total: Int) {
        self.total = total
    }

    /// The next request's number, or nil when all have been handed out.
    func claim() -> Int? {
        state.withLockedValue { state in
            guard state.claimed < total else { return nil }
            defer { state.claimed += 1 }
            return state.claimed
        }
    }

    func finished(error: String?) {
        state.withLockedValue { state in
            state.done += 1
            if let error {
                state.errors += 1
                if state.firstError == nil { state.firstError = error }
            }
        }
    }

    var failures: (count: Int, first: String?) {
        state.withLockedValue { ($0.errors, $0.firstError) }
    }

    /// Rewrites one line on stderr (only on a terminal, so logs and pipes stay clean).
    func report(every interval: Duration, since started: ContinuousClock.Instant) async {
        guard isatty(STDERR_FILENO) != 0 else { return }
        var lastDone = 0
        var lastTime = started
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            let now = ContinuousClock.now
            let (done, errors) = state.withLockedValue { ($0.done, $0.errors) }
            let rate = Double(done - lastDone) / ((now - lastTime) / .seconds(1))
            (lastDone, lastTime) = (done, now)
            let line = String(
                format: "\r%d/%d requests  %.0f req/s  %d errors  %.1f s ", done, total, rate, errors, (now - started) / .seconds(1))
            FileHandle.standardError.write(Data(line.utf8))
        }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}

/// What `greyctl bench` prints at the end.
struct BenchSummary {
    let target: String
    let operation: String
    let clients: Int
    let connections: Int
    let elapsed: Duration
    let histogram: Histogram<UInt64>
    let errors: Int
    let firstError: String?

    init(target: String, operation: String, clients: Int, connections: Int, elapsed: Duration, histogram: Histogram<UInt64>, failures: (count: Int, first: String?)) {
        self.target = target
        self.operation = operation
        self.clients = clients
        self.connections = connections
        self.elapsed = elapsed
        self.histogram = histogram
        self.errors = failures.count
        self.firstError = failures.first
    }

    static let percentiles: [(name: String, value: Double)] = [("p50", 50), ("p90", 90), ("p99", 99), ("p99.9", 99.9)]

    var seconds: Double { elapsed / .seconds(1) }
    var succeeded: Int { Int(histogram.totalCount) }
    var throughput: Double { Double(succeeded) / seconds }

    func millis(_ micros: UInt64) -> Double { Double(micros) / 1000 }

    var json: [String: Any] {
        var latency: [String: Double] = ["min": millis(histogram.min), "mean": histogram.mean / 1000, "max": millis(histogram.max)]
        for (name, value) in Self.percentiles { latency[name] = millis(histogram.valueAtPercentile(value)) }
        var result: [String: Any] = [
            "target": target, "operation": operation, "clients": clients, "connections": connections,
            "requests": succeeded + errors, "succeeded": succeeded, "errors": errors, "seconds": seconds,
            "throughput": throughput, "latency_ms": latency,
        ]
        if let firstError { result["first_error"] = firstError }
        return result
    }

    func printReport() {
        print("\(operation) to \(target): \(clients) clients over \(connections) connections")
        print(String(format: "%d succeeded, %d failed in %.2f s: %.0f requests/s", succeeded, errors, seconds, throughput))
        if let firstError { print("first error: \(firstError)") }
        guard succeeded > 0 else { return }
        let rows = [("min", histogram.min)] + Self.percentiles.map { ($0.name, histogram.valueAtPercentile($0.value)) } + [("max", histogram.max)]
        printTable(["LATENCY", "MS"], rows.map { [$0.0, String(format: "%.3f", millis($0.1))] })
    }
}
