import CNghttp2
import GreyWire
import NIOCore

/// Serves unary gRPC calls on one HTTP/2 connection, with nghttp2 doing the framing.
///
/// Everything here runs on the connection's event loop. A complete request is handed to its
/// method handler in a task; the answer comes back to the loop and is written out, together
/// with any other answers that finished in the same loop turn (one flush for many replies).
final class GRPCServerConnectionHandler: ChannelDuplexHandler, HTTP2SessionDelegate {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// One request in flight. A class, so the handlers below change it where it lies: a struct
    /// copied out of the dictionary and written back shared its buffers with the copy left
    /// behind, and every append to the request body copied them (profiled: retain/release and
    /// malloc were a third of the leader's time at 1024 streams).
    private final class Stream {
        var path = ""
        var method = ""
        var contentType = ""
        var timeoutNanoseconds: Int64? = nil
        var traceHeaders = TraceHeaders()
        var headersDone = false
        var answered = false
        var reader: GRPCMessageReader
        /// Request bytes received and not yet given back to the peer's flow-control windows
        /// (and held against the server's `RequestBodyBudget`).
        var heldBytes = 0
        var task: Task<Void, Never>? = nil
        var deadlineTimer: Scheduled<Void>? = nil
        var startedAt = NIODeadline.now()

        init(reader: GRPCMessageReader) {
            self.reader = reader
        }
    }

    private let router: GRPCRouter
    private let maxMessageBytes: Int
    private let limits: HTTP2Limits
    private let statistics: RPCStatistics
    private let bodyBudget: RequestBodyBudget
    private var session: HTTP2Session?
    private var streams: [Int32: Stream] = [:]
    private var context: ChannelHandlerContext?
    private var flushScheduled = false
    private var readHeld = false
    /// Handlers run on this connection's loop (set when the handler is added).
    private var taskExecutor: EventLoopTaskExecutor?
    /// Whether the TLS peer presented a verified certificate; looked up at the first call
    /// (the handshake is over before any request arrives).
    private var certified: Bool?
    /// Replies a peer may leave unread on one connection before new calls are refused and the
    /// socket is no longer read: a client that never reads cannot make the server buffer
    /// 1024 streams × 4 MiB.
    private let maxQueuedReplyBytes: Int

    init(router: GRPCRouter, maxMessageBytes: Int, limits: HTTP2Limits, statistics: RPCStatistics, bodyBudget: RequestBodyBudget) {
        self.router = router
        self.maxMessageBytes = maxMessageBytes
        self.limits = limits
        self.statistics = statistics
        self.bodyBudget = bodyBudget
        self.maxQueuedReplyBytes = max(4 * maxMessageBytes, 16 << 20)
    }

    private func peerCertified(_ channel: Channel) -> Bool {
        if let certified { return certified }
        let found = TLS.peerCertified(channel)
        certified = found
        return found
    }

    // MARK: - Backpressure

    private var mustHoldReads: Bool {
        guard let context, let session else { return false }
        return !context.channel.isWritable || session.queuedBodyBytes > maxQueuedReplyBytes
    }

    func read(context: ChannelHandlerContext) {
        if mustHoldReads {
            readHeld = true
        } else {
            context.read()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        resumeReadsIfPossible()
        context.fireChannelWritabilityChanged()
    }

    private func resumeReadsIfPossible() {
        guard readHeld, !mustHoldReads, let context else { return }
        readHeld = false
        context.read()
    }

    // MARK: - Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        taskExecutor = EventLoopTaskExecutor(context.eventLoop)
        do {
            session = try HTTP2Session(role: .server, limits: limits, delegate: self)
        } catch {
            context.close(promise: nil)
            return
        }
        if context.channel.isActive { flushNow() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        abandonAllStreams()
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
            // nghttp2 has queued a GOAWAY explaining the protocol error; send it, then close.
            flushNow()
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushNow()
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        abandonAllStreams()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    // MARK: - HTTP/2 events

    func http2BeginHeaders(streamID: Int32) {
        if streams[streamID] == nil {
            streams[streamID] = Stream(reader: GRPCMessageReader(maxMessageBytes: maxMessageBytes))
        }
    }

    func http2Header(streamID: Int32, name: HeaderBytes, value: HeaderBytes) {
        guard let stream = streams[streamID], !stream.headersDone else { return }  // ignore request trailers
        if name.matches(":path") {
            stream.path = value.string
        } else if name.matches(":method") {
            stream.method = value.string
        } else if name.matches("content-type") {
            stream.contentType = value.string
        } else if name.matches("grpc-timeout") {
            stream.timeoutNanoseconds = GRPCTimeout.parse(value.string)
        } else if name.matches("traceparent") {
            stream.traceHeaders.traceparent = value.string
        } else if name.matches("tracestate") {
            stream.traceHeaders.tracestate = value.string
        }
    }

    func http2HeadersComplete(streamID: Int32, endStream: Bool) {
        guard let stream = streams[streamID] else { return }
        if !stream.headersDone {
            stream.headersDone = true
            if let rejection = validate(stream) {
                answer(streamID, rejection)
                return
            }
            if let timeout = stream.timeoutNanoseconds { startDeadline(streamID, timeoutNanoseconds: timeout) }
        }
        if endStream { requestComplete(streamID) }
    }

    func http2Data(streamID: Int32, bytes: UnsafeRawBufferPointer) {
        guard let stream = streams[streamID], !stream.answered else {
            session?.consume(streamID: streamID, bytes: bytes.count)  // nobody wants it: give the window back
            return
        }
        guard bodyBudget.reserve(bytes.count) else {
            session?.consume(streamID: streamID, bytes: bytes.count)
            answer(streamID, .failure(GRPCStatus(
                .resourceExhausted, "the server holds \(bodyBudget.limitBytes >> 20) MiB of unfinished requests; retry shortly")))
            return
        }
        // Held until the handler takes the message (or the stream ends): until then these bytes
        // keep the peer's windows closed by as much, so a connection holds at most its window.
        stream.heldBytes += bytes.count
        do {
            try stream.reader.append(bytes)
        } catch .messageTooLarge(let length, let limit) {
            answer(streamID, .failure(GRPCStatus(.resourceExhausted, "request message of \(length) bytes exceeds the \(limit)-byte limit")))
        } catch {
            answer(streamID, .failure(GRPCStatus(.unimplemented, error.description)))
        }
    }

    func http2DataEnded(streamID: Int32) {
        requestComplete(streamID)
    }

    func http2StreamClosed(streamID: Int32, errorCode: UInt32) {
        guard let stream = streams.removeValue(forKey: streamID) else { return }
        releaseBody(streamID, stream, closing: true)
        stream.task?.cancel()
        stream.deadlineTimer?.cancel()
        if !stream.answered { statistics.recordCall(.cancelled) }
    }

    // MARK: - Calls

    /// A reason to refuse the call from its headers alone, before any body arrives.
    private func validate(_ stream: Stream) -> Result<[UInt8], GRPCStatus>? {
        guard stream.method == "POST" else {
            return .failure(GRPCStatus(.unimplemented, "gRPC requires POST, got \(stream.method)"))
        }
        guard stream.contentType.hasPrefix("application/grpc") else {
            return .failure(GRPCStatus(.invalidArgument, "content-type must be application/grpc, got '\(stream.contentType)'"))
        }
        guard router.serves(stream.path) else {
            return .failure(GRPCStatus(.unimplemented, "unknown method \(stream.path)"))
        }
        return nil
    }

    private func requestComplete(_ streamID: Int32) {
        guard let stream = streams[streamID], !stream.answered, stream.task == nil,
            let handler = router.handler(for: stream.path), let context
        else { return }
        let messages = stream.reader.messages
        if let session, session.queuedBodyBytes > maxQueuedReplyBytes {
            answer(streamID, .failure(GRPCStatus(.resourceExhausted, "too many unread replies on this connection (\(session.queuedBodyBytes) bytes); read them first")))
            return
        }
        guard messages.count == 1, !stream.reader.hasPartialMessage else {
            let problem = stream.reader.hasPartialMessage ? "a truncated request message" : "\(messages.count) request messages"
            answer(streamID, .failure(GRPCStatus(.invalidArgument, "unary call expects exactly one request message, got \(problem)")))
            return
        }
        let callContext = GRPCCallContext(
            path: stream.path,
            deadline: stream.timeoutNanoseconds.map { NIODeadline.now() + .nanoseconds($0) },
            remoteAddress: context.channel.remoteAddress,
            peerCertified: peerCertified(context.channel),
            traceHeaders: stream.traceHeaders,
            connectionClosed: context.channel.closeFuture)
        let eventLoop = context.eventLoop
        let this = NIOLoopBound(self, eventLoop: eventLoop)
        let request = messages[0]
        stream.reader = GRPCMessageReader(maxMessageBytes: 0)  // drop the buffered copy
        releaseBody(streamID, stream)
        let statistics = self.statistics
        statistics.callStarted()
        stream.task = Task(executorPreference: taskExecutor) {
            let result = await handler(request, callContext)
            statistics.callEnded()
            eventLoop.execute { this.value.answer(streamID, result) }
        }
    }

    private func startDeadline(_ streamID: Int32, timeoutNanoseconds: Int64) {
        guard let context else { return }
        let this = NIOLoopBound(self, eventLoop: context.eventLoop)
        streams[streamID]?.deadlineTimer = context.eventLoop.scheduleTask(in: .nanoseconds(timeoutNanoseconds)) {
            this.value.answer(streamID, .failure(GRPCStatus(.deadlineExceeded, "deadline exceeded before the call completed")))
        }
    }

    /// Sends the one answer a call gets; later answers for the same stream are ignored.
    private func answer(_ streamID: Int32, _ result: Result<[UInt8], GRPCStatus>) {
        guard let stream = streams[streamID], !stream.answered, let session else { return }
        stream.answered = true
        stream.reader = GRPCMessageReader(maxMessageBytes: 0)
        releaseBody(streamID, stream)
        stream.deadlineTimer?.cancel()
        stream.deadlineTimer = nil
        stream.task?.cancel()  // a no-op once the handler has returned
        switch result {
        case .success(let response):
            statistics.recordCall(.ok, path: stream.path, duration: .nanoseconds((NIODeadline.now() - stream.startedAt).nanoseconds))
            session.submitResponse(
                streamID: streamID,
                headers: [(":status", "200"), ("content-type", "application/grpc")],
                body: GRPCMessageFramer.frame(response),
                trailers: [("grpc-status", "0")])
        case .failure(let status):
            statistics.recordCall(status.code, path: stream.path, duration: .nanoseconds((NIODeadline.now() - stream.startedAt).nanoseconds))
            var headers = [(":status", "200"), ("content-type", "application/grpc"), ("grpc-status", String(status.code.rawValue))]
            if !status.message.isEmpty { headers.append(("grpc-message", GRPCStatus.percentEncode(status.message))) }
            session.submitResponse(streamID: streamID, headers: headers, body: nil, trailers: [])
        }
        scheduleFlush()
    }

    // MARK: - Output

    /// Coalesces the writes of every answer completed in this loop turn into one flush.
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
        resumeReadsIfPossible()
    }

    /// Gives a stream's held request bytes back: to the server's budget and, while the
    /// connection lives, to the peer's flow-control windows.
    private func releaseBody(_ streamID: Int32, _ stream: Stream, closing: Bool = false) {
        guard stream.heldBytes > 0 else { return }
        bodyBudget.release(stream.heldBytes)
        if closing {
            session?.consumeConnection(bytes: stream.heldBytes)
        } else {
            session?.consume(streamID: streamID, bytes: stream.heldBytes)
        }
        stream.heldBytes = 0
    }

    private func abandonAllStreams() {
        for (_, stream) in streams {
            bodyBudget.release(stream.heldBytes)
            stream.heldBytes = 0
            stream.task?.cancel()
            stream.deadlineTimer?.cancel()
            if !stream.answered { statistics.recordCall(.cancelled) }
        }
        streams.removeAll()
    }
}
