import Foundation
import W3CTraceContext

/// `greyctl --trace`: one W3C trace for the whole command, started on its first call. Every
/// call carries it as `traceparent` with the sampled flag, so each node serving one records it
/// whatever its own sampling, and the trace id is printed once (on stderr: stdout stays the
/// command's output) for looking the trace up in Jaeger or any OpenTelemetry backend.
enum CommandTrace {
    private static let context = TraceContext(traceID: .random(), spanID: .random(), flags: .sampled, state: TraceState())
    nonisolated(unsafe) private static var announced = false  // greyctl makes its calls one at a time

    static func metadata() -> [(String, String)] {
        if !announced {
            announced = true
            FileHandle.standardError.write(Data("trace id: \(context.traceID)\n".utf8))
        }
        return [("traceparent", context.traceParentHeaderValue)]
    }

    /// A sampled trace of its own, not announced: `greyctl bench --trace` sends one per request.
    static func freshMetadata() -> [(String, String)] {
        [("traceparent", TraceContext(traceID: .random(), spanID: .random(), flags: .sampled, state: TraceState()).traceParentHeaderValue)]
    }
}
