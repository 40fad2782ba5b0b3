import NIOConcurrencyHelpers
import Tracing

/// The W3C trace-context headers of a call (`traceparent`, `tracestate`), as gRPC metadata
/// carries them: how a client, or the node that forwarded the call, says which trace it is
/// part of.
public struct TraceHeaders: Sendable, Equatable {
    public var traceparent: String?
    public var tracestate: String?

    public init(traceparent: String? = nil, tracestate: String? = nil) {
        self.traceparent = traceparent
        self.tracestate = tracestate
    }

    public var isEmpty: Bool { traceparent == nil }
}

/// Reads the trace-context headers for the tracer's propagator (W3C trace context).
struct TraceHeadersExtractor: Extractor {
    func extract(key: String, from carrier: TraceHeaders) -> String? {
        switch key.lowercased() {
        case "traceparent": carrier.traceparent
        case "tracestate": carrier.tracestate
        default: nil
        }
    }
}

/// Writes the tracer's headers into a call's metadata (lower-case names, as HTTP/2 wants).
struct MetadataInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [(String, String)]) {
        carrier.append((key.lowercased(), value))
    }
}

/// Traces gRPC calls with whichever tracer the process bootstrapped (swift-distributed-tracing's
/// `InstrumentationSystem`; greyd bootstraps OpenTelemetry when given a trace endpoint).
public enum CallTracing {
    /// The metadata that makes the callee's spans children of the current span: none outside a
    /// traced call, so untraced calls carry nothing extra.
    public static func metadata(for context: ServiceContext? = .current) -> [(String, String)] {
        guard let context else { return [] }
        var metadata: [(String, String)] = []
        InstrumentationSystem.instrument.inject(context, into: &metadata, using: MetadataInjector())
        return metadata
    }

    /// `handler` inside a server span named after the method (`etcdserverpb.KV/Put`), the child
    /// of the caller's span when the call says which trace it belongs to. A call that does not
    /// say may start a trace (the sampler decides) only where `startsTraces`: a peer's Raft
    /// messages continue the traces of the client calls they carry and start none of their own,
    /// or every heartbeat would be a trace.
    static func traced(_ path: String, startsTraces: Bool, _ handler: @escaping GRPCUnaryHandler) -> GRPCUnaryHandler {
        let name = path.hasPrefix("/") ? String(path.dropFirst()) : path
        let slash = name.firstIndex(of: "/")
        let service = slash.map { String(name[..<$0]) } ?? name
        let method = slash.map { String(name[name.index(after: $0)...]) } ?? ""
        return { bytes, call in
            guard startsTraces || !call.traceHeaders.isEmpty else { return await handler(bytes, call) }
            var parent = ServiceContext.topLevel
            if !call.traceHeaders.isEmpty {
                InstrumentationSystem.instrument.extract(call.traceHeaders, into: &parent, using: TraceHeadersExtractor())
            }
            let reply = ReplyStart()
            parent.replyStart = reply
            let span = startSpan(name, context: parent, ofKind: .server)
            guard span.isRecording else {
                span.end()
                return await handler(bytes, call)
            }
            span.attributes["rpc.system"] = "grpc"
            span.attributes["rpc.service"] = service
            span.attributes["rpc.method"] = method
            if let peer = call.remoteAddress?.ipAddress { span.attributes["net.sock.peer.addr"] = peer }
            let result = await ServiceContext.withValue(span.context) { await handler(bytes, call) }
            if let started = reply.instant {
                startSpan("reply", at: started, context: span.context).end()
            }
            switch result {
            case .success:
                span.attributes["rpc.grpc.status_code"] = 0
            case .failure(let status):
                span.attributes["rpc.grpc.status_code"] = Int(status.code.rawValue)
                span.setStatus(SpanStatus(code: .error, message: status.message))
            }
            span.end()
            return result
        }
    }
}

/// When a traced call's answer was ready to go back (its write applied, say): the server span's
/// "reply" child runs from there to the encoded response. Set by whoever produced the answer,
/// possibly on another thread than the handler's.
public final class ReplyStart: Sendable {
    private let marked = NIOLockedValueBox<DefaultTracerClock.Instant?>(nil)

    public init() {}

    public func mark(at instant: DefaultTracerClock.Instant = DefaultTracerClock.now) {
        marked.withLockedValue { $0 = instant }
    }

    var instant: DefaultTracerClock.Instant? { marked.withLockedValue { $0 } }
}

private enum ReplyStartKey: ServiceContextKey {
    typealias Value = ReplyStart
}

extension ServiceContext {
    /// The mark for the "reply" span of the gRPC call being served, inside a traced call.
    public var replyStart: ReplyStart? {
        get { self[ReplyStartKey.self] }
        set { self[ReplyStartKey.self] = newValue }
    }
}
