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

    public init(path: String, deadline: NIODeadline?, remoteAddress: SocketAddress?, peerCertified: Bool = false) {
        self.path = path
        self.deadline = deadline
        self.remoteAddress = remoteAddress
        self.peerCertified = peerCertified
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

    public init() {}

    /// The paths served, for listing and tests.
    public var paths: [String] { handlers.keys.sorted() }

    /// Registers a raw handler for `path`.
    public mutating func register(path: String, _ handler: @escaping GRPCUnaryHandler) {
        handlers[path] = handler
    }

    /// Registers a typed handler: the request is decoded (INVALID_ARGUMENT if it cannot be),
    /// the response encoded, and thrown errors mapped to their status.
    public mutating func register<Request, Response>(
        _ method: GRPCMethod<Request, Response>,
        _ handler: @escaping @Sendable (Request, GRPCCallContext) async throws -> Response
    ) {
        register(path: method.path) { bytes, context in
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

    /// The handler for `path`, if any.
    public func handler(for path: String) -> GRPCUnaryHandler? {
        guard let handler = handlers[path] else { return nil }
        guard requireCertificate else { return handler }
        return { bytes, context in
            guard context.peerCertified else { return .failure(Self.certificateRequired(path)) }
            return await handler(bytes, context)
        }
    }

    /// The refusal of a call without a client certificate where one is required.
    public static func certificateRequired(_ path: String) -> GRPCStatus {
        GRPCStatus(.unauthenticated, "\(path) needs a client certificate from the cluster CA (the cluster runs with --client-cert-auth)")
    }
}
