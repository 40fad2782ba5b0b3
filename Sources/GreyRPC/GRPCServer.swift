import GreyWire
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOTLS

/// Listens on one port for gRPC over HTTP/2 (h2c, prior knowledge) and plain HTTP/1.1,
/// which share it: the first bytes of each connection choose the protocol.
public final class GRPCServer: Sendable {
    /// How the server listens and what it allows.
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// Largest request message accepted; larger ones get RESOURCE_EXHAUSTED.
        public var maxMessageBytes = 4 << 20
        /// Connections beyond this are closed at accept.
        public var maxConnections = 4096
        /// Request bytes held, over all connections, before handlers take them; past it new
        /// request data is refused with RESOURCE_EXHAUSTED. Each connection holds at most its
        /// HTTP/2 receive window (`http2.connectionWindowBytes`) of it.
        public var requestBodyBudget = RequestBodyBudget(limitBytes: 256 << 20)
        public var http2 = HTTP2Limits()
        /// How long a new connection may take to finish its TLS handshake (if any) and send its
        /// first bytes — the HTTP/2 preface, or the start of an HTTP/1.1 request; it is closed
        /// (and reported as refused) when it has not. Once it has spoken, an idle connection
        /// stays: gRPC clients keep theirs open between calls.
        public var firstBytesTimeout: Duration = .seconds(10)
        /// TLS for every connection (`TLS.serverContext`); nil serves cleartext.
        public var tls: NIOSSLContext?
        /// Told of each connection refused before it could carry a call — over
        /// `maxConnections`, or a failed TLS handshake (a certificate from another CA, a client
        /// speaking cleartext) — with the peer's address and the reason, for the operator.
        public var onRefusedConnection: (@Sendable (_ peer: String, _ reason: String) -> Void)?

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
    }

    private let channel: Channel
    private let connections: ConnectionRegistry
    /// Call and connection counters.
    public let statistics: RPCStatistics

    private init(channel: Channel, connections: ConnectionRegistry, statistics: RPCStatistics) {
        self.channel = channel
        self.connections = connections
        self.statistics = statistics
    }

    /// The port actually bound (useful when configured with port 0).
    public var port: Int { channel.localAddress?.port ?? 0 }

    /// Binds and starts serving; throws when the address cannot be bound.
    public static func start(
        configuration: Configuration, router: GRPCRouter, sideDoor: HTTPSideDoor,
        statistics: RPCStatistics = RPCStatistics(),
        group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> GRPCServer {
        let connections = ConnectionRegistry()
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // Nagle off, at the TCP level: the same option number at the socket level is SO_DEBUG,
            // which fails for every user but root and closes each connection.
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            // One read per connection per loop turn: with thousands of streams in flight a turn stays
            // short, so the Raft heartbeat timer on the same loop is not starved into an election.
            .childChannelOption(.maxMessagesPerRead, value: 1)
            .childChannelInitializer { channel in
                guard statistics.openConnections < configuration.maxConnections else {
                    statistics.connectionRejected()
                    configuration.onRefusedConnection?(
                        channel.remoteAddress.map { "\($0)" } ?? "?", "\(configuration.maxConnections) connections are open already")
                    return channel.close()
                }
                statistics.connectionOpened()
                connections.add(channel)
                channel.closeFuture.whenComplete { _ in
                    statistics.connectionClosed()
                    connections.remove(channel)
                }
                return channel.eventLoop.makeCompletedFuture {
                    try serve(channel, configuration: configuration, router: router, sideDoor: sideDoor, statistics: statistics)
                }
            }
            .bind(host: configuration.host, port: configuration.port)
            .get()
        return GRPCServer(channel: channel, connections: connections, statistics: statistics)
    }

    /// Sets up one accepted connection: its first bytes choose gRPC over HTTP/2 or the HTTP/1.1
    /// side door. Public so a fuzzer can feed a connection arbitrary bytes in memory.
    public static func serve(
        _ channel: Channel, configuration: Configuration, router: GRPCRouter, sideDoor: HTTPSideDoor, statistics: RPCStatistics
    ) throws {
        let timeout = configuration.firstBytesTimeout
        let report = configuration.onRefusedConnection
        let sniffer = ProtocolSniffer(
            deadline: TimeAmount(timeout),
            onSilence: { context in
                report?(peerDescription(context.remoteAddress), "no HTTP/2 preface or HTTP/1.1 request within \(timeout) of connecting")
            }
        ) { detected, context in
            let pipeline = context.pipeline.syncOperations
            switch detected {
            case .http2:
                try pipeline.addHandler(
                    GRPCServerConnectionHandler(
                        router: router, maxMessageBytes: configuration.maxMessageBytes,
                        limits: configuration.http2, statistics: statistics, bodyBudget: configuration.requestBodyBudget),
                    position: .after(context.handler))
            case .http1:
                let door = HTTPSideDoorHandler(sideDoor: sideDoor, maxBodyBytes: configuration.maxMessageBytes)
                try pipeline.addHandler(door, position: .after(context.handler))
                try pipeline.configureHTTPServerPipeline(position: .after(context.handler), withErrorHandling: true)
            }
        }
        if let tls = configuration.tls {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
            if let report = configuration.onRefusedConnection {
                try channel.pipeline.syncOperations.addHandler(HandshakeFailureReporter(report: report))
            }
        }
        try channel.pipeline.syncOperations.addHandler(sniffer)
    }

    /// Stops accepting connections, closes the listening socket and every open connection.
    /// With `draining`, waits up to that long for the calls under way to be answered first.
    public func close(draining limit: Duration = .zero) async throws {
        try await channel.close()
        let deadline = ContinuousClock.now + limit
        while statistics.inFlightCalls > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        for connection in connections.all() {
            try? await connection.close()
        }
    }
}

/// A peer's address as the refused-connection reports give it: `10.0.0.9:51234`.
private func peerDescription(_ address: SocketAddress?) -> String {
    address.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "?"
}

/// The server's open connections, so that `close()` can end them.
private final class ConnectionRegistry: Sendable {
    private let channels = NIOLockedValueBox([ObjectIdentifier: Channel]())

    func add(_ channel: Channel) {
        channels.withLockedValue { $0[ObjectIdentifier(channel)] = channel }
    }

    func remove(_ channel: Channel) {
        channels.withLockedValue { $0[ObjectIdentifier(channel)] = nil }
    }

    func all() -> [Channel] {
        channels.withLockedValue { Array($0.values) }
    }
}

/// Reports a TLS handshake that failed (the connection then closes as before).
private final class HandshakeFailureReporter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    let report: @Sendable (String, String) -> Void

    init(report: @escaping @Sendable (String, String) -> Void) {
        self.report = report
    }

    /// Any error before the handshake completed is the handshake's (the handler leaves then).
    func errorCaught(context: ChannelHandlerContext, error: Error) {
        report(peerDescription(context.remoteAddress), "TLS handshake failed: \(Self.explain(error))")
        context.fireErrorCaught(error)
    }

    /// BoringSSL's reason, and what it usually means here.
    static func explain(_ error: Error) -> String {
        let text = "\(error)"
        guard let range = text.range(of: "OPENSSL_internal:") else { return text }
        let reason = text[range.upperBound...].prefix { $0 != " " && $0 != "]" }
        switch reason {
        case "CERTIFICATE_VERIFY_FAILED": return "\(reason) (its certificate is not from the cluster CA)"
        case "WRONG_VERSION_NUMBER", "HTTP_REQUEST": return "\(reason) (it spoke cleartext to a TLS port)"
        default: return String(reason)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Once the handshake is done this handler has nothing left to watch.
        if case TLSUserEvent.handshakeCompleted = event { context.pipeline.syncOperations.removeHandler(context: context, promise: nil) }
        context.fireUserInboundEventTriggered(event)
    }
}
