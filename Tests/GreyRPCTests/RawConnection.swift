import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A bare TCP client for feeding a server bytes no well-behaved client would send.
enum RawConnection {
    /// What came back from one exchange.
    struct Outcome {
        var received: [UInt8]
        /// The server closed the connection before we gave up waiting.
        var serverClosed: Bool

        var text: String { String(decoding: received, as: UTF8.self) }

        /// HTTP/2 frame types found by walking the frames after the server's preface-free start.
        var http2FrameTypes: [UInt8] {
            var types: [UInt8] = []
            var offset = 0
            while offset + 9 <= received.count {
                let length = Int(received[offset]) << 16 | Int(received[offset + 1]) << 8 | Int(received[offset + 2])
                types.append(received[offset + 3])
                offset += 9 + length
            }
            return types
        }
    }

    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let bytes = NIOLockedValueBox<[UInt8]>([])
        let closed: EventLoopPromise<Void>

        init(closed: EventLoopPromise<Void>) {
            self.closed = closed
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            let chunk = buffer.readBytes(length: buffer.readableBytes) ?? []
            bytes.withLockedValue { $0 += chunk }
        }

        func channelInactive(context: ChannelHandlerContext) {
            closed.succeed(())
        }
    }

    /// Connects to 127.0.0.1:`port`, writes `chunks` in order, then either hangs up at once
    /// (`vanish`) or waits up to `wait` for the server to close. The wait ends as soon as the
    /// server closes, so it is long: while `make test` starts a dozen clusters at once on two
    /// cores, a side-door answer once took over 3 s (the old default) and read as empty.
    static func exchange(
        port: Int, _ chunks: [[UInt8]], vanish: Bool = false, wait: TimeAmount = .seconds(15), pauseBetweenChunks: Duration? = nil
    ) async throws -> Outcome {
        let group = MultiThreadedEventLoopGroup.singleton
        let closed = group.next().makePromise(of: Void.self)
        let collector = Collector(closed: closed)
        let connected = ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
            }
            .connect(host: "127.0.0.1", port: port)
        // The first chunk leaves on the event loop the moment the connection is up, not from
        // this task afterwards: at a crowded start a task waited seconds for a thread, past a
        // server's first-bytes deadline, and found the connection closed under it.
        let channel = try await (chunks.first.map { first in
            connected.flatMap { channel in channel.writeAndFlush(channel.allocator.buffer(bytes: first)).map { channel } }
        } ?? connected).get()
        for (index, chunk) in chunks.enumerated() {
            if index > 0 { try await channel.writeAndFlush(channel.allocator.buffer(bytes: chunk)) }
            if let pauseBetweenChunks { try await Task.sleep(for: pauseBetweenChunks) }
        }
        if vanish {
            try? await channel.close()
            return Outcome(received: collector.bytes.withLockedValue { $0 }, serverClosed: false)
        }
        let timer = channel.eventLoop.scheduleTask(in: wait) { closed.fail(ChannelError.ioOnClosedChannel) }
        let serverClosed = (try? await closed.futureResult.get()) != nil
        timer.cancel()
        try? await channel.close()
        return Outcome(received: collector.bytes.withLockedValue { $0 }, serverClosed: serverClosed)
    }

    static let http2Preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
    /// An empty SETTINGS frame.
    static let emptySettings: [UInt8] = [0, 0, 0, 0x04, 0, 0, 0, 0, 0]

    /// A raw HTTP/2 frame.
    static func frame(type: UInt8, flags: UInt8 = 0, stream: UInt32, payload: [UInt8], claimedLength: Int? = nil) -> [UInt8] {
        let length = claimedLength ?? payload.count
        return [UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF), type, flags,
                UInt8(stream >> 24 & 0x7F), UInt8(stream >> 16 & 0xFF), UInt8(stream >> 8 & 0xFF), UInt8(stream & 0xFF)] + payload
    }
}
