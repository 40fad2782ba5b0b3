import CNghttp2
import GreyWire
import NIOCore

/// A call found its connection already closed; nothing was sent, so it is safe to retry.
struct ConnectionClosedBeforeSend: Error {}

/// Makes unary gRPC calls over one HTTP/2 connection; many calls share it as streams.
///
/// Runs on the connection's event loop. Each call owns a promise that is completed exactly
/// once: by the response trailers, by the stream closing early, by its deadline, or by the
/// connection going away.
final class GRPCClientConnectionHandler: ChannelInboundHandler, HTTP2SessionDelegate {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// One call in flight; a class changed in place (see the server's Stream).
    private final class Call {
        let promise: EventLoopPromise<[UInt8]>
        var reader: GRPCMessageReader
        var httpStatus = ""
        var grpcStatus: String? = nil
        var grpcMessage = ""
        var deadlineTimer: Scheduled<Void>? = nil

        init(promise: EventLoopPromise<[UInt8]>, reader: GRPCMessageReader) {
            self.promise = promise
            self.reader = reader
        }
    }

    private let authority: String
    /// `https` on a TLS connection, `http` on cleartext.
    private let scheme: String
    private let maxMessageBytes: Int
    private let limits: HTTP2Limits
    private var session: HTTP2Session?
    private var calls: [Int32: Call] = [:]
    private var context: ChannelHandlerContext?
    private var flushScheduled = false
    private var closed = false
    /// Write each call as it starts instead of at the loop's next turn (`GRPCChannel.init`).
    private let writeAtOnce: Bool

    init(authority: String, maxMessageBytes: Int, limits: HTTP2Limits, scheme: String = "http", writeAtOnce: Bool = false) {
        self.authority = authority
        self.writeAtOnce = writeAtOnce
        self.scheme = scheme
        self.maxMessageBytes = maxMessageBytes
        self.limits = limits
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        session = try? HTTP2Session(role: .client, limits: limits, delegate: self)
        if session == nil { context.close(promise: nil) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        failAll(GRPCStatus(.unavailable, "connection to \(authority) closed"))
        session = nil
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        flushNow()
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let session else { return }
        do {
            try session.receive(unwrapInboundIn(data))
        } catch {
            failAll(GRPCStatus(.unavailable, "connection to \(authority) broke: \(error.message)"))
            flushNow()
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushNow()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        failAll(GRPCStatus(.unavailable, "connection to \(authority) closed"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // Most often a TLS handshake that failed: say so, rather than "closed".
        failAll(GRPCStatus(.unavailable, "connection to \(authority) failed: \(error)"))
        context.close(promise: nil)
    }

    /// Starts a call with a framed request `body`; `promise` gets the response message or a `GRPCStatus` error.
    func startCall(path: String, body: [UInt8], timeoutNanoseconds: Int64?, metadata: [(String, String)] = [], promise: EventLoopPromise<[UInt8]>) {
        guard let session, let context, !closed else {
            promise.fail(ConnectionClosedBeforeSend())
            return
        }
        var headers = [
            (":method", "POST"), (":scheme", scheme), (":path", path), (":authority", authority),
            ("content-type", "application/grpc"), ("te", "trailers"),
        ]
        if let timeoutNanoseconds { headers.append(("grpc-timeout", GRPCTimeout.format(nanoseconds: timeoutNanoseconds))) }
        headers += metadata
        let streamID = session.submitRequest(headers: headers, body: body)
        guard streamID > 0 else {
            promise.fail(GRPCStatus(.unavailable, "cannot start a call on the connection to \(authority)"))
            return
        }
        let call = Call(promise: promise, reader: GRPCMessageReader(maxMessageBytes: maxMessageBytes))
        if let timeoutNanoseconds {
            let this = NIOLoopBound(self, eventLoop: context.eventLoop)
            call.deadlineTimer = context.eventLoop.scheduleTask(in: .nanoseconds(timeoutNanoseconds)) {
                this.value.expire(streamID)
            }
        }
        calls[streamID] = call
        if writeAtOnce { flushNow() } else { scheduleFlush() }
    }

    private func expire(_ streamID: Int32) {
        guard let call = calls.removeValue(forKey: streamID) else { return }
        session?.resetStream(streamID)
        call.promise.fail(GRPCStatus(.deadlineExceeded, "deadline exceeded waiting for \(authority)"))
        scheduleFlush()
    }

    // MARK: - HTTP/2 events

    func http2BeginHeaders(streamID: Int32) {}

    func http2Header(streamID: Int32, name: HeaderBytes, value: HeaderBytes) {
        guard let call = calls[streamID] else { return }
        if name.matches(":status") {
            call.httpStatus = value.string
        } else if name.matches("grpc-status") {
            call.grpcStatus = value.string
        } else if name.matches("grpc-message") {
            call.grpcMessage = GRPCStatus.percentDecode(value.string)
        }
    }

    func http2HeadersComplete(streamID: Int32, endStream: Bool) {
        if endStream { finish(streamID) }
    }

    func http2Data(streamID: Int32, bytes: UnsafeRawBufferPointer) {
        guard let call = calls[streamID] else { return }
        do {
            try call.reader.append(bytes)
        } catch {
            calls[streamID] = nil
            call.deadlineTimer?.cancel()
            session?.resetStream(streamID)
            call.promise.fail(GRPCStatus(.resourceExhausted, "response from \(authority): \(error.description)"))
        }
    }

    func http2DataEnded(streamID: Int32) {
        finish(streamID)
    }

    func http2StreamClosed(streamID: Int32, errorCode: UInt32) {
        guard let call = calls.removeValue(forKey: streamID) else { return }
        call.deadlineTimer?.cancel()
        let reason = errorCode == NGHTTP2_REFUSED_STREAM.rawValue ? "refused the stream" : "reset the stream (HTTP/2 error \(errorCode))"
        call.promise.fail(GRPCStatus(.unavailable, "\(authority) \(reason)"))
    }

    /// The response ended: turn status, trailers and message into the call's outcome.
    private func finish(_ streamID: Int32) {
        guard let call = calls.removeValue(forKey: streamID) else { return }
        call.deadlineTimer?.cancel()
        guard let statusText = call.grpcStatus else {
            call.promise.fail(GRPCStatus(.unknown, "\(authority) answered HTTP \(call.httpStatus) without a grpc-status"))
            return
        }
        guard let rawCode = Int(statusText), let code = GRPCStatus.Code(rawValue: rawCode) else {
            call.promise.fail(GRPCStatus(.unknown, "\(authority) answered an unknown grpc-status '\(statusText)'"))
            return
        }
        guard code == .ok else {
            call.promise.fail(GRPCStatus(code, call.grpcMessage))
            return
        }
        guard call.reader.messages.count == 1, !call.reader.hasPartialMessage else {
            call.promise.fail(GRPCStatus(.internal, "\(authority) sent \(call.reader.messages.count) messages for a unary call"))
            return
        }
        call.promise.succeed(call.reader.messages[0])
    }

    // MARK: - Output

    private func scheduleFlush() {
        guard !flushScheduled, let context else { return }
        flushScheduled = true
        let this = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute { this.value.flushNow() }
    }

    private func flushNow() {
        flushScheduled = false
        guard let context, let session else { return }
        if let output = session.drainOutput(allocator: context.channel.allocator) {
            context.writeAndFlush(wrapOutboundOut(output), promise: nil)
        }
        if !session.isAlive { context.close(promise: nil) }
    }

    private func failAll(_ status: GRPCStatus) {
        let pending = calls
        calls.removeAll()
        for (_, call) in pending {
            call.deadlineTimer?.cancel()
            call.promise.fail(status)
        }
    }
}
