import GreyWire
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// A client for one `host:port`: one HTTP/2 connection shared by all calls, opened on first
/// use and opened again on the next call after it breaks (a peer that restarted, say).
public final class GRPCChannel: Sendable {
    /// The address calls go to, as `host:port`.
    public let target: String
    private let host: String
    private let port: Int
    private let group: EventLoopGroup
    private let maxMessageBytes: Int
    private let connectTimeout: TimeAmount
    /// The local IP connections leave from; nil lets the kernel choose.
    private let sourceHost: String?
    /// TLS for the connection; nil for cleartext (h2c).
    private let tls: NIOSSLContext?
    /// Whether each call is written to the socket as it starts (see `init`).
    private let writeAtOnce: Bool
    private let state = NIOLockedValueBox(State())

    private struct State {
        var connection: EventLoopFuture<Connection>? = nil
        var closed = false
    }

    private struct Connection: Sendable {
        let channel: Channel
        let handler: NIOLoopBound<GRPCClientConnectionHandler>
    }

    /// A channel to `target` (`host:port`); throws INVALID_ARGUMENT for a malformed address.
    /// With `sourceHost` (an IP literal) connections leave from that address: a node listening
    /// on 127.0.0.12 talks to its peers from 127.0.0.12, not from 127.0.0.1, so firewall rules
    /// between node addresses (a partition, a real network's ACLs) see who is talking.
    ///
    /// Calls started in one turn of the loop are written together at its next turn, one write
    /// for all of them; with `writeAtOnce` each is written as it starts instead. A node's Raft
    /// messages go that way: a turn of a busy loop can come after thousands of queued client
    /// jobs, and a heartbeat that waits that long lets the followers' election timers run out.
    public init(
        target: String, group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        maxMessageBytes: Int = 4 << 20, connectTimeout: TimeAmount = .seconds(1), sourceHost: String? = nil,
        tls: NIOSSLContext? = nil, writeAtOnce: Bool = false
    ) throws(GRPCStatus) {
        guard let address = HostPort(target) else {
            throw GRPCStatus(.invalidArgument, "address '\(target)' is not host:port")
        }
        self.target = target
        self.host = address.host
        self.port = address.port
        self.group = group
        self.maxMessageBytes = maxMessageBytes
        self.connectTimeout = connectTimeout
        self.sourceHost = sourceHost
        self.tls = tls
        self.writeAtOnce = writeAtOnce
    }

    /// Calls a unary method and returns its decoded response. It runs on the caller's executor
    /// (nonsending): a node on an event loop stays there instead of hopping through the pool.
    /// `metadata` goes with the request as extra headers (lower-case names), such as the W3C
    /// `traceparent` of the trace the call belongs to.
    nonisolated(nonsending) public func call<Request, Response>(
        _ method: GRPCMethod<Request, Response>, _ request: Request, timeout: Duration? = nil, metadata: [(String, String)] = []
    ) async throws(GRPCStatus) -> Response {
        try await outcome(callFuture(method, request, timeout: timeout, metadata: metadata))
    }

    /// Starts a unary call at once and returns its decoded response as a future, completed on
    /// the connection's event loop. A caller on that loop (a node sending Raft messages) has the
    /// request on its way before it does anything else — before its own disk write, say —
    /// and gets the answer in a callback on the same thread.
    public func callFuture<Request, Response>(
        _ method: GRPCMethod<Request, Response>, _ request: Request, timeout: Duration? = nil, metadata: [(String, String)] = []
    ) -> EventLoopFuture<Response> {
        let target = target
        return sendFuture(path: method.path, body: GRPCMessageFramer.frame(request.encoded()), timeout: timeout, metadata: metadata)
            .flatMapThrowing { bytes in
                do {
                    return try Response(decoding: bytes)
                } catch {
                    throw GRPCStatus(.internal, "\(target) sent an undecodable \(Response.self): \(error)")
                }
            }
    }

    /// Calls a unary method with an encoded request; returns the encoded response.
    nonisolated(nonsending) public func unary(path: String, request: [UInt8], timeout: Duration? = nil) async throws(GRPCStatus) -> [UInt8] {
        try await send(path: path, body: GRPCMessageFramer.frame(request), timeout: timeout)
    }

    /// Sends an already framed request body. Internal so tests can send malformed frames.
    nonisolated(nonsending) func send(path: String, body: [UInt8], timeout: Duration?) async throws(GRPCStatus) -> [UInt8] {
        try await outcome(sendFuture(path: path, body: body, timeout: timeout))
    }

    /// Awaits a call's future as a typed throw (`sendFuture` fails with GRPCStatus only).
    nonisolated(nonsending) private func outcome<T: Sendable>(_ future: EventLoopFuture<T>) async throws(GRPCStatus) -> T {
        do {
            return try await future.value()
        } catch {
            throw error as? GRPCStatus ?? GRPCStatus(.unavailable, "connection to \(target) closed")
        }
    }

    /// Starts the call on the connection (opening it first if needed); every failure is a
    /// GRPCStatus. A connection that closed before the call could be sent is retried once on a
    /// new one: nothing reached the server, so this cannot apply a request twice.
    private func sendFuture(path: String, body: [UInt8], timeout: Duration?, metadata: [(String, String)] = [], retry: Bool = true) -> EventLoopFuture<[UInt8]> {
        let timeoutNanoseconds = timeout.map { Self.nanoseconds($0) }
        let target = target
        guard let connecting = connection() else {
            return group.any().makeFailedFuture(GRPCStatus(.unavailable, "channel to \(target) is closed"))
        }
        return connecting
            .flatMapErrorThrowing { error in
                self.forget(connecting)
                throw GRPCStatus(.unavailable, Self.describeConnectError(error, target: target))
            }
            .flatMap { connection in
                // On the connection's loop (the future completed there).
                let promise = connection.channel.eventLoop.makePromise(of: [UInt8].self)
                connection.handler.value.startCall(path: path, body: body, timeoutNanoseconds: timeoutNanoseconds, metadata: metadata, promise: promise)
                return promise.futureResult
            }
            .flatMapError { error in
                if error is GRPCStatus { return connecting.eventLoop.makeFailedFuture(error) }
                if error is ConnectionClosedBeforeSend, retry {
                    self.forget(connecting)
                    return self.sendFuture(path: path, body: body, timeout: timeout, metadata: metadata, retry: false)
                }
                return connecting.eventLoop.makeFailedFuture(GRPCStatus(.unavailable, "connection to \(target) closed"))
            }
    }

    /// Closes the connection; calls after this fail with UNAVAILABLE.
    public func close() async {
        let connection = state.withLockedValue { state in
            state.closed = true
            defer { state.connection = nil }
            return state.connection
        }
        if let channel = try? await connection?.get().channel {
            try? await channel.close()
        }
    }

    /// The open (or opening) connection; nil once the channel is closed.
    private func connection() -> EventLoopFuture<Connection>? {
        state.withLockedValue { state in
            guard !state.closed else { return nil }
            if let existing = state.connection { return existing }
            let opened = openConnection()
            state.connection = opened
            return opened
        }
    }

    private func openConnection() -> EventLoopFuture<Connection> {
        let authority = target
        let maxMessageBytes = maxMessageBytes
        let tls = tls
        let writeAtOnce = writeAtOnce
        let host = host
        var bootstrap = ClientBootstrap(group: group)
        if let sourceHost, let source = try? SocketAddress(ipAddress: sourceHost, port: 0) {
            bootstrap = bootstrap.bind(to: source)
        }
        bootstrap = bootstrap
            .connectTimeout(connectTimeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)  // TCP level, not SOL_SOCKET (see GRPCServer)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(try TLS.clientHandler(tls, host: host)) }
                    let handler = GRPCClientConnectionHandler(
                        authority: authority, maxMessageBytes: maxMessageBytes, limits: HTTP2Limits(), scheme: tls == nil ? "http" : "https",
                        writeAtOnce: writeAtOnce)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
        let future = bootstrap.connect(host: host, port: port).flatMapThrowing { channel in
            let handler = try channel.pipeline.syncOperations.handler(type: GRPCClientConnectionHandler.self)
            return Connection(channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop))
        }
        future.whenSuccess { connection in
            connection.channel.closeFuture.whenComplete { [weak self] _ in self?.forget(future) }
        }
        return future
    }

    /// Drops a broken connection so the next call dials again.
    private func forget(_ future: EventLoopFuture<Connection>) {
        state.withLockedValue { state in
            if state.connection === future { state.connection = nil }
        }
    }


    /// Whether a call failed before any connection to the server existed, so the server never
    /// saw the request and it may safely be sent elsewhere (or again).
    public static func neverConnected(_ status: GRPCStatus) -> Bool {
        status.code == .unavailable
            && ["connection refused to ", "timed out connecting to ", "cannot connect to ", "cannot resolve "].contains { status.message.hasPrefix($0) }
    }

    static func describeConnectError(_ error: Error, target: String) -> String {
        if let connectError = error as? NIOConnectionError {
            if connectError.dnsAAAAError != nil && connectError.dnsAError != nil && connectError.connectionErrors.isEmpty {
                return "cannot resolve \(target)"
            }
            if let first = connectError.connectionErrors.first?.error as? IOError, first.errnoCode == ECONNREFUSED {
                return "connection refused to \(target)"
            }
        }
        if let ioError = error as? IOError, ioError.errnoCode == ECONNREFUSED { return "connection refused to \(target)" }
        if error is ChannelError, case .connectTimeout = error as! ChannelError { return "timed out connecting to \(target)" }
        return "cannot connect to \(target): \(error)"
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
