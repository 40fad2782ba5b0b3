import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// An HTTP/1.1 GET of one resource into a file, over cleartext or TLS: how `greyctl snapshot
/// create` fetches a node's `/snapshot` from the side door. The body goes to disk as it
/// arrives, so a backup larger than memory is fine.
public enum HTTPDownload {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// GETs `path` from `target` (`host:port`) into `file` (created or replaced); throws with
    /// the status and the start of the body when the answer is not 200.
    public static func get(
        _ path: String, from target: String, tls: NIOSSLContext?, to file: String,
        group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws {
        guard let address = HostPort(target) else { throw Failure(description: "address '\(target)' is not host:port") }
        // createFile makes the file, or empties one already there.
        guard FileManager.default.createFile(atPath: file, contents: nil), let output = FileHandle(forWritingAtPath: file) else {
            throw Failure(description: "cannot write \(file)")
        }
        defer { try? output.close() }
        let promise = group.any().makePromise(of: Void.self)
        let handler = DownloadHandler(output: output, target: target, promise: promise)
        let channel: Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(.seconds(5))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tls { try channel.pipeline.syncOperations.addHandler(try TLS.clientHandler(tls, host: address.host)) }
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                }
                .connect(host: address.host, port: address.port).get()
        } catch {
            throw Failure(description: GRPCChannel.describeConnectError(error, target: target))
        }
        var headers = HTTPHeaders()
        headers.add(name: "host", value: target)
        headers.add(name: "connection", value: "close")
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers)
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        defer { channel.close(promise: nil) }
        try await promise.futureResult.get()
    }

    private final class DownloadHandler: ChannelInboundHandler, @unchecked Sendable {
        // @unchecked Sendable: used on its channel's loop only, after being handed to it.
        typealias InboundIn = HTTPClientResponsePart

        private let output: FileHandle
        private let target: String
        private let promise: EventLoopPromise<Void>
        private var status: HTTPResponseStatus?
        private var errorBody: [UInt8] = []

        init(output: FileHandle, target: String, promise: EventLoopPromise<Void>) {
            self.output = output
            self.target = target
            self.promise = promise
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                status = head.status
            case .body(let buffer):
                if status == .ok {
                    do {
                        try output.write(contentsOf: Data(buffer.readableBytesView))
                    } catch {
                        promise.fail(Failure(description: "cannot write the download: \(error)"))
                        context.close(promise: nil)
                    }
                } else if errorBody.count < 4096 {
                    errorBody += buffer.readableBytesView.prefix(4096 - errorBody.count)
                }
            case .end:
                if status == .ok {
                    promise.succeed(())
                } else {
                    let body = String(decoding: errorBody, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                    promise.fail(Failure(description: "\(target) answered \(status?.code ?? 0): \(body)"))
                }
                context.close(promise: nil)
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.fail(Failure(description: "connection to \(target) closed before the download finished"))
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            promise.fail(Failure(description: "connection to \(target) failed: \(error)"))
            context.close(promise: nil)
        }
    }
}
