import GreyWire
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

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
    public init(
        target: String, group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        maxMessageBytes: Int = 4 << 20, connectTimeout: TimeAmount = .seconds(1)
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
    }

    /// Calls a unary method and returns its decoded response.
    public func call<Request, Response>(
        _ method: GRPCMethod<Request, Response>, _ request: Request, timeout: Duration? = nil
    ) async throws(GRPCStatus) -> Response {
        let bytes = try await unary(path: method.path, request: request.encoded(), timeout: timeout)
        do {
            return try Response(decoding: bytes)
        } catch {
            throw GRPCStatus(.internal, "\(target) sent an undecodable \(Response.self): \(error)")
        }
    }

    /// Calls a unary method with an encoded request; returns the encoded response.
    public func unary(path: String, request: [UInt8], timeout: Duration? = nil) async throws(GRPCStatus) -> [UInt8] {
        try await send(path: path, body: GRPCMessageFramer.frame(request), timeout: timeout)
    }

    /// Sends an already framed request body. Internal so tests can send malformed frames.
    func send(path: String, body: [UInt8], timeout: Duration?) async throws(GRPCStatus) -> [UInt8] {
        let timeoutNanoseconds = timeout.map { Self.nanoseconds($0) }
        // A connection that closed before the call could be sent is retried once on a new one:
        // nothing reached the server, so this cannot apply a request twice.
        for attempt in 0..<2 {
            let (future, connection) = try await connect()
            let promise = connection.channel.eventLoop.makePromise(of: [UInt8].self)
            let handler = connection.handler
            connection.channel.eventLoop.execute {
                handler.value.startCall(path: path, body: body, timeoutNanoseconds: timeoutNanoseconds, promise: promise)
            }
            do {
                return try await promise.futureResult.get()
            } catch let status as GRPCStatus {
                throw status
            } catch is ConnectionClosedBeforeSend where attempt == 0 {
                forget(future)
                continue
            } catch {
                throw GRPCStatus(.unavailable, "connection to \(target) closed")
            }
        }
        throw GRPCStatus(.unavailable, "connection to \(target) closed")
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

    private func connect() async throws(GRPCStatus) -> (EventLoopFuture<Connection>, Connection) {
        let future: EventLoopFuture<Connection>? = state.withLockedValue { state in
            guard !state.closed else { return nil }
            if let existing = state.connection { return existing }
            let opened = openConnection()
            state.connection = opened
            return opened
        }
        guard let future else { throw GRPCStatus(.unavailable, "channel to \(target) is closed") }
        do {
            return (future, try await future.get())
        } catch {
            forget(future)
            throw GRPCStatus(.unavailable, Self.describeConnectError(error, target: target))
        }
    }

    private func openConnection() -> EventLoopFuture<Connection> {
        let authority = target
        let maxMessageBytes = maxMessageBytes
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = GRPCClientConnectionHandler(authority: authority, maxMessageBytes: maxMessageBytes, limits: HTTP2Limits())
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
        let future = bootstrap.connect(host: host, port: port).flatMapThrowing { channel in
            let handler = try channel.pipeline.syncOperations.handler(type: GRPCClientConnectionHandler.self)
            return Connection(channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop))
        }
        future.whenSuccess { [weak self] connection in
            connection.channel.closeFuture.whenComplete { _ in self?.forget(future) }
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
