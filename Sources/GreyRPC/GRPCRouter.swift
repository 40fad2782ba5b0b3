import GreyWire
import NIOCore

/// What a method handler knows about the call it serves.
public struct GRPCCallContext: Sendable {
    /// The method's path, such as `/grey.v1.KV/Put`.
    public let path: String
    /// When the caller stops waiting (from `grpc-timeout`), if it said.
    public let deadline: NIODeadline?
    /// The peer's address, when the socket knows it.
    public let remoteAddress: SocketAddress?
    /// Whether the caller presented a TLS certificate that chains to the server's CA.
    public let peerCertified: Bool
    /// The trace the caller says the call belongs to (W3C `traceparent` metadata), if any.
    public let traceHeaders: TraceHeaders
    /// Completes when the connection the call came on closes (nil when there is none): one
    /// future per connection, so it also tells calls on one connection from those on another.
    public let connectionClosed: EventLoopFuture<Void>?

    public init(
        path: String, deadline: NIODeadline?, remoteAddress: SocketAddress?, peerCertified: Bool = false, traceHeaders: TraceHeaders = TraceHeaders(),
        connectionClosed: EventLoopFuture<Void>? = nil
    ) {
        self.path = path
        self.deadline = deadline
        self.remoteAddress = remoteAddress
        self.peerCertified = peerCertified
        self.traceHeaders = traceHeaders
        self.connectionClosed = connectionClosed
    }
}

/// An error a handler throws that knows its gRPC status. Anything else a handler throws
/// becomes UNKNOWN, so handlers should map their expected failures to this.
public protocol GRPCStatusConvertible: Error {
    var grpcStatus: GRPCStatus { get }
}

extension GRPCStatus: GRPCStatusConvertible {
    public var grpcStatus: GRPCStatus { self }
}

/// Serves one unary call from its encoded request to its encoded response.
public typealias GRPCUnaryHandler = @Sendable ([UInt8], GRPCCallContext) async -> Result<[UInt8], GRPCStatus>

/// Maps method paths to handlers. Built once before the server starts, then read-only.
public struct GRPCRouter: Sendable {
    private var handlers: [String: GRPCUnaryHandler] = [:]
    /// Every call must come with a certificate from the server's CA (`--client-cert-auth`):
    /// without one it is refused UNAUTHENTICATED before its handler runs.
    public var requireCertificate = false
    /// Every call is served inside a server span (`CallTracing`), for the process's tracer. Off,
    /// calls pay nothing for tracing: not even a look at their trace headers.
    public var tracing = false
    /// Methods whose calls only continue a trace a caller started (peers' Raft messages).
    private var continuesTracesOnly: Set<String> = []

    public init() {}

    /// The paths served, for listing and tests.
    public var paths: [String] { handlers.keys.sorted() }

    /// Registers a raw handler for `path`. With `startsTraces` false, a call is traced only when
    /// its caller's trace says so (see `CallTracing.traced`).
    public mutating func register(path: String, startsTraces: Bool = true, _ handler: @escaping GRPCUnaryHandler) {
        handlers[path] = handler
        if !startsTraces { continuesTracesOnly.insert(path) }
    }

    /// Registers a typed handler: the request is decoded (INVALID_ARGUMENT if it cannot be),
    /// the response encoded, and thrown errors mapped to their status.
    public mutating func register<Request, Response>(
        _ method: GRPCMethod<Request, Response>, startsTraces: Bool = true,
        _ handler: @escaping @Sendable (Request, GRPCCallContext) async throws -> Response
    ) {
        register(path: method.path, startsTraces: startsTraces) { bytes, context in
            let request: Request
            do {
                request = try Request(decoding: bytes)
            } catch {
                return .failure(GRPCStatus(.invalidArgument, String(describing: error)))
            }
            do {
                return .success(try await handler(request, context).encoded())
            } catch let error as GRPCStatusConvertible {
                return .failure(error.grpcStatus)
            } catch is CancellationError {
                return .failure(GRPCStatus(.cancelled, "call cancelled"))
            } catch {
                return .failure(GRPCStatus(.unknown, String(describing: error)))
            }
        }
    }

    /// Whether `path` is served here.
    public func serves(_ path: String) -> Bool { handlers[path] != nil }

    /// The handler for `path`, if any.
    public func handler(for path: String) -> GRPCUnaryHandler? {
        guard var handler = handlers[path] else { return nil }
        if requireCertificate {
            let certified = handler
            handler = { bytes, context in
                guard context.peerCertified else { return .failure(Self.certificateRequired(path)) }
                return await certified(bytes, context)
            }
        }
        if tracing { handler = CallTracing.traced(path, startsTraces: !continuesTracesOnly.contains(path), handler) }
        return handler
    }

    /// The refusal of a call without a client certificate where one is required.
    public static func certificateRequired(_ path: String) -> GRPCStatus {
        GRPCStatus(.unauthenticated, "\(path) needs a client certificate from the cluster CA (the cluster runs with --client-cert-auth)")
    }
}
