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

    init(install: @escaping (WireProtocol, ChannelHandlerContext) throws -> Void) {
        self.install = install
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
