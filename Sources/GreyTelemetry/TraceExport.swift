import Foundation
import GreyWire
import Logging
import OTel
import ServiceLifecycle

/// greyd's traces: OpenTelemetry (swift-otel) exporting OTLP over HTTP to `--trace-endpoint`.
///
/// What is traced: each client call a sampler picks — every call whose caller's `traceparent`
/// says "sampled" (`greyctl --trace`, or any OpenTelemetry-instrumented client), and
/// `--trace-sample` of the calls that come without one (default 0: only what clients ask
/// for). Peers' Raft messages are traced only as part of such a call. Without an endpoint
/// nothing is bootstrapped and the hot path pays nothing (`GRPCRouter.tracing` stays off).
struct TraceExport {
    private let group: ServiceGroup
    private let running: Task<Void, Never>

    /// The OTLP/HTTP URL spans go to: `endpoint` as given when it names a path (Jaeger's or a
    /// collector's `/v1/traces`), else OTLP's `/v1/traces` under it; nil when it is not an http
    /// or https URL.
    static func tracesURL(_ endpoint: String) -> String? {
        guard let url = URL(string: endpoint), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty
        else { return nil }
        if url.path.isEmpty || url.path == "/" {
            return endpoint.hasSuffix("/") ? endpoint + "v1/traces" : endpoint + "/v1/traces"
        }
        return endpoint
    }

    /// Bootstraps the process's tracer and starts exporting; spans are sent in batches within a
    /// second of ending. OpenTelemetry's own `OTEL_*` variables still apply on top.
    static func start(url: String, sampleRatio: Double, nodeID: UInt64, address: String, logger: Logger) throws -> TraceExport {
        var configuration = OTel.Configuration.default
        configuration.serviceName = "greyd"
        configuration.resourceAttributes = [
            "service.instance.id": "\(nodeID)", "service.version": GreyVersion.current, "grey.address": address,
        ]
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
    func finish() async {
        await group.triggerGracefulShutdown()
        await running.value
    }
}
