import NIOCore
import NIOHTTP1

/// A plain HTTP/1.1 request that arrived on the gRPC port (`/metrics`, `/status`, `/put`, …).
public struct SideDoorRequest: Sendable {
    public var method: String
    /// The path without the query string.
    public var path: String
    /// Query parameters, percent-decoded; a repeated name keeps its last value.
    public var query: [String: String]
    public var body: [UInt8]
    /// Whether the caller presented a TLS certificate that chains to the server's CA.
    public var peerCertified: Bool

    public init(method: String, path: String, query: [String: String] = [:], body: [UInt8] = [], peerCertified: Bool = false) {
        self.method = method
        self.path = path
        self.query = query
        self.body = body
        self.peerCertified = peerCertified
    }
}

/// The answer to a `SideDoorRequest`.
public struct SideDoorResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]
    /// For bodies too big to hold (a snapshot): called for each next piece until it returns
    /// nil; the response is sent chunked, one piece in flight at a time. An error midway cuts
    /// the connection, so the client sees a truncated body rather than a short "success".
    public var stream: (@Sendable () async throws -> [UInt8]?)?

    public init(status: Int, contentType: String, stream: @escaping @Sendable () async throws -> [UInt8]?) {
        self.status = status
        self.contentType = contentType
        self.body = []
        self.stream = stream
    }

    public init(status: Int, contentType: String = "text/plain; charset=utf-8", body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    public init(status: Int, contentType: String = "text/plain; charset=utf-8", text: String) {
        self.init(status: status, contentType: contentType, body: Array(text.utf8))
    }
}

/// Answers the HTTP/1.1 routes on the gRPC port; the node supplies the real one.
public protocol HTTPSideDoor: Sendable {
    func handle(_ request: SideDoorRequest) async -> SideDoorResponse
}

/// Reads HTTP/1.1 requests (parsed by NIOHTTP1) and answers each from an `HTTPSideDoor`.
/// Requests are answered in order; NIOHTTP1's pipelining helper holds back the next one.
final class HTTPSideDoorHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let sideDoor: HTTPSideDoor
    private let maxBodyBytes: Int
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var bodyTooLarge = false

    init(sideDoor: HTTPSideDoor, maxBodyBytes: Int) {
        self.sideDoor = sideDoor
        self.maxBodyBytes = maxBodyBytes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            body = []
            bodyTooLarge = false
        case .body(var chunk):
            if body.count + chunk.readableBytes > maxBodyBytes {
                bodyTooLarge = true
            } else {
                body += chunk.readBytes(length: chunk.readableBytes) ?? []
            }
        case .end:
            guard let head else { return }
            self.head = nil
            if bodyTooLarge {
                respond(context: context, head: head, SideDoorResponse(status: 413, text: "request body exceeds \(maxBodyBytes) bytes\n"))
                return
            }
            let request = SideDoorRequest(
                method: head.method.rawValue, path: String(head.uri.split(separator: "?", maxSplits: 1).first ?? ""),
                query: Self.parseQuery(head.uri), body: body, peerCertified: TLS.peerCertified(context.channel))
            let sideDoor = self.sideDoor
            let this = NIOLoopBound(self, eventLoop: context.eventLoop)
            let boundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
            let eventLoop = context.eventLoop
            // Started on the connection's own loop, as gRPC handlers are: no hop through the
            // global pool for a request that usually answers from memory.
            Task(executorPreference: EventLoopTaskExecutor(eventLoop)) {
                let response = await sideDoor.handle(request)
                eventLoop.execute { this.value.respond(context: boundContext.value, head: head, response) }
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // NIOHTTP1's error handler has already answered 400 to a malformed request; hang up.
        context.close(promise: nil)
    }

    private func respond(context: ChannelHandlerContext, head: HTTPRequestHead, _ response: SideDoorResponse) {
        guard context.channel.isActive else { return }
        if let stream = response.stream {
            respondStreaming(context: context, head: head, status: response.status, contentType: response.contentType, stream)
            return
        }
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: response.contentType)
        headers.add(name: "content-length", value: String(response.body.count))
        let keepAlive = head.isKeepAlive
        headers.add(name: "connection", value: keepAlive ? "keep-alive" : "close")
        let responseHead = HTTPResponseHead(version: head.version, status: HTTPResponseStatus(statusCode: response.status), headers: headers)
        context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))), promise: nil)
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    /// Sends a chunked body piece by piece, waiting for each write to finish before asking for
    /// the next (the client's reading speed sets the pace). The connection closes at the end.
    private func respondStreaming(
        context: ChannelHandlerContext, head: HTTPRequestHead, status: Int, contentType: String,
        _ stream: @escaping @Sendable () async throws -> [UInt8]?
    ) {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: contentType)
        headers.add(name: "transfer-encoding", value: "chunked")
        headers.add(name: "connection", value: "close")
        let responseHead = HTTPResponseHead(version: head.version, status: HTTPResponseStatus(statusCode: status), headers: headers)
        context.writeAndFlush(wrapOutboundOut(.head(responseHead)), promise: nil)
        let this = NIOLoopBound(self, eventLoop: context.eventLoop)
        let boundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        let channel = context.channel
        Task {
            do {
                while let piece = try await stream() {
                    guard channel.isActive else { return }
                    try await eventLoop.flatSubmit {
                        let buffer = boundContext.value.channel.allocator.buffer(bytes: piece)
                        return boundContext.value.writeAndFlush(this.value.wrapOutboundOut(.body(.byteBuffer(buffer))))
                    }.get()
                }
                try await eventLoop.flatSubmit {
                    boundContext.value.writeAndFlush(this.value.wrapOutboundOut(.end(nil)))
                }.get()
            } catch {}
            channel.close(promise: nil)
        }
    }

    /// Splits `a=1&b=x%20y` into percent-decoded pairs (`+` reads as a space, as in forms).
    static func parseQuery(_ uri: String) -> [String: String] {
        guard let mark = uri.firstIndex(of: "?") else { return [:] }
        var query: [String: String] = [:]
        for pair in uri[uri.index(after: mark)...].split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = percentDecode(String(parts[0]))
            query[name] = parts.count > 1 ? percentDecode(String(parts[1])) : ""
        }
        return query
    }

    static func percentDecode(_ text: String) -> String {
        let bytes = Array(text.utf8)
        var decoded: [UInt8] = []
        var offset = 0
        while offset < bytes.count {
            let byte = bytes[offset]
            if byte == UInt8(ascii: "%"), offset + 2 < bytes.count,
                let value = UInt8(String(decoding: bytes[offset + 1...offset + 2], as: UTF8.self), radix: 16)
            {
                decoded.append(value)
                offset += 3
            } else {
                decoded.append(byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
                offset += 1
            }
        }
        return String(decoding: decoded, as: UTF8.self)
    }
}
