import Foundation
import GreyWire
import Logging
import OTel
import ServiceLifecycle

/// The process's traces: OpenTelemetry (swift-otel) exporting OTLP over HTTP to a collector.
///
/// greyd traces each client call a sampler picks — every call whose caller's `traceparent`
/// says "sampled" (`greyctl --trace`, or any OpenTelemetry-instrumented client), and
/// `--trace-sample` of the calls that come without one (default 0: only what clients ask
/// for); peers' Raft messages are traced only as part of such a call. Without an endpoint
/// nothing is bootstrapped and the hot path pays nothing (`GRPCRouter.tracing` stays off).
/// greyctl, given `GREY_TRACE_ENDPOINT` too, exports the root span of a `--trace` command.
public struct TraceExport: Sendable {
    private let group: ServiceGroup
    private let running: Task<Void, Never>

    /// The OTLP/HTTP URL spans go to: `endpoint` as given when it names a path (Jaeger's or a
    /// collector's `/v1/traces`), else OTLP's `/v1/traces` under it; nil when it is not an http
    /// or https URL.
    public static func tracesURL(_ endpoint: String) -> String? {
        guard let url = URL(string: endpoint), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty
        else { return nil }
        if url.path.isEmpty || url.path == "/" {
            return endpoint.hasSuffix("/") ? endpoint + "v1/traces" : endpoint + "/v1/traces"
        }
        return endpoint
    }

    /// Bootstraps the process's tracer and starts exporting; spans are sent in batches within a
    /// second of ending. `sampleRatio` is for root spans (a sampled parent always is).
    /// OpenTelemetry's own `OTEL_*` variables still apply on top.
    public static func start(url: String, service: String, sampleRatio: Double, attributes: [String: String], logger: Logger) throws -> TraceExport {
        var configuration = OTel.Configuration.default
        configuration.serviceName = service
        configuration.resourceAttributes = attributes.merging(["service.version": GreyVersion.current]) { given, _ in given }
        configuration.metrics.enabled = false  // Prometheus has them (/metrics)
        configuration.logs.enabled = false  // stderr has them
        configuration.traces.exporter = .otlp
        configuration.traces.otlpExporter.endpoint = url
        configuration.traces.otlpExporter.protocol = .httpProtobuf
        configuration.traces.otlpExporter.timeout = .seconds(5)
        configuration.traces.sampler = .parentBasedTraceIDRatio(ratio: sampleRatio) ?? .parentBasedAlwaysOff
        configuration.traces.batchSpanProcessor.scheduleDelay = .seconds(1)
        configuration.diagnosticLogger = .custom(logger)
        configuration.diagnosticLogLevel = .warning
        let service = try OTel.bootstrap(configuration: configuration)
        let group = ServiceGroup(services: [service], logger: logger)
        let running = Task {
            do {
                try await group.run()
            } catch {
                logger.warning("trace export stopped: \(error)")
            }
        }
        return TraceExport(group: group, running: running)
    }

    /// Sends the spans still queued and stops: the last step of greyd's shutdown.
    public func finish() async {
        await group.triggerGracefulShutdown()
        await running.value
    }
}
