import Foundation
import GreyRPC
import GreyTelemetry
import Logging
import Tracing
import W3CTraceContext

/// `greyctl --trace`: one W3C trace for the whole command, started on its first call. Every
/// call carries it as `traceparent` with the sampled flag, so each node serving one records it
/// whatever its own sampling, and the trace id is printed once (on stderr: stdout stays the
/// command's output) for looking the trace up in Jaeger or any OpenTelemetry backend.
///
/// With `GREY_TRACE_ENDPOINT` set here too, greyctl exports the trace's root span itself (named
/// after the command, from its first call to its end), so a backend shows the whole tree;
/// without it the nodes' spans hang under a parent id the backend never receives.
enum CommandTrace {
    private struct Started {
        let metadata: [(String, String)]
        let root: (any Span)?
        let export: TraceExport?
    }

    nonisolated(unsafe) private static var started: Started?  // greyctl makes its calls one at a time
    nonisolated(unsafe) static var commandName = "greyctl"

    static func metadata() -> [(String, String)] {
        if let started { return started.metadata }
        let begun = start()
        started = begun
        let traceparent = begun.metadata.first { $0.0 == "traceparent" }?.1 ?? ""
        let traceID = traceparent.split(separator: "-").dropFirst().first.map(String.init) ?? "?"
        FileHandle.standardError.write(Data("trace id: \(traceID)\n".utf8))
        return begun.metadata
    }

    private static func start() -> Started {
        let environment = ProcessInfo.processInfo.environment
        if let endpoint = environment["GREY_TRACE_ENDPOINT"].flatMap({ $0.isEmpty ? nil : $0 }), let url = TraceExport.tracesURL(endpoint) {
            var logger = Logger(label: "greyctl.traces") { _ in StreamLogHandler.standardError(label: "greyctl") }
            logger.logLevel = .warning
            if let export = try? TraceExport.start(url: url, service: "greyctl", sampleRatio: 1, attributes: [:], logger: logger) {
                let root = startSpan(commandName, context: .topLevel, ofKind: .client)
                return Started(metadata: CallTracing.metadata(for: root.context), root: root, export: export)
            }
        }
        return Started(metadata: freshMetadata(), root: nil, export: nil)
    }

    /// Ends the root span and sends it, when greyctl exports one: before greyctl exits.
    static func finish() async {
        guard let started, let root = started.root else { return }
        root.end()
        await started.export?.finish()
    }

    /// A sampled trace of its own, not announced: `greyctl bench --trace` sends one per request.
    static func freshMetadata() -> [(String, String)] {
        [("traceparent", TraceContext(traceID: .random(), spanID: .random(), flags: .sampled, state: TraceState()).traceParentHeaderValue)]
    }
}
