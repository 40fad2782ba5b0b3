import NIOCore

/// Tells HTTP/2 (gRPC) from HTTP/1.1 on a shared port by the first bytes a client sends.
///
/// An HTTP/2 client with prior knowledge opens with a fixed 24-byte preface (RFC 9113 §3.4);
/// anything that departs from it is handed to the HTTP/1.1 side. The sniffer holds at most
/// those 24 bytes, then installs the chosen handlers, replays what it held and removes itself.
final class ProtocolSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    enum WireProtocol { case http2, http1 }

    static let http2Preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    private let install: (WireProtocol, ChannelHandlerContext) throws -> Void
    private var buffered: ByteBuffer?
    /// How long a connection may take to say which protocol it speaks (after its TLS handshake,
    /// when there is one: the sniffer sees only what TLS lets through); nil waits for ever.
    private let deadline: TimeAmount?
    /// Told when a connection is closed for saying nothing in time.
    private let onSilence: (ChannelHandlerContext) -> Void
    private var timer: Scheduled<Void>?

    init(
        deadline: TimeAmount? = nil, onSilence: @escaping (ChannelHandlerContext) -> Void = { _ in },
        install: @escaping (WireProtocol, ChannelHandlerContext) throws -> Void
    ) {
        self.deadline = deadline
        self.onSilence = onSilence
        self.install = install
    }

    // MARK: - The first bytes' deadline

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { startTimer(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        startTimer(context)
        context.fireChannelActive()
    }

    /// Removed once the protocol is known (or the connection closed): the deadline is met.
    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    /// A client that connects and says nothing holds a connection slot (of `maxConnections`)
    /// and its buffers for nothing: it is closed once the deadline passes.
    private func startTimer(_ context: ChannelHandlerContext) {
        guard timer == nil, let deadline else { return }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: deadline) {
            let (sniffer, context) = bound.value
            sniffer.onSilence(context)
            context.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if var held = buffered {
            held.writeBuffer(&incoming)
            buffered = held
        } else {
            buffered = incoming
        }
        guard let held = buffered, let detected = Self.detect(held) else { return }
        do {
            try install(detected, context)
        } catch {
            context.close(promise: nil)
            return
        }
        buffered = nil
        context.fireChannelRead(wrapInboundOut(held))
        context.fireChannelReadComplete()
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    /// The protocol `bytes` begin, or nil while they are still a prefix of the HTTP/2 preface.
    static func detect(_ bytes: ByteBuffer) -> WireProtocol? {
        let count = min(bytes.readableBytes, http2Preface.count)
        guard let head = bytes.getBytes(at: bytes.readerIndex, length: count) else { return nil }
        if head != Array(http2Preface.prefix(count)) { return .http1 }
        return count == http2Preface.count ? .http2 : nil
    }
}
