import GreyRPC
import GreyWire
import NIOCore
import NIOEmbedded

// libFuzzer target: the server side of one connection fed arbitrary bytes, in memory — the
// same pipeline GRPCServer gives every accepted connection (protocol sniffing, nghttp2 for
// HTTP/2 and gRPC framing, or HTTP/1.1 for the side door). The first byte chooses whether
// the HTTP/2 preface is put in front (so the fuzzer spends its time past it) and how the
// rest is cut into reads. Whatever comes in, the server may answer or close, never crash,
// hang or leak.

struct Answers: HTTPSideDoor {
    func handle(_ request: SideDoorRequest) async -> SideDoorResponse {
        SideDoorResponse(status: 200, text: "\(request.method) \(request.path) \(request.body.count)\n")
    }
}

let router: GRPCRouter = {
    var router = GRPCRouter()
    router.register(KVMethods.put) { request, _ in PutResponse(header: ResponseHeader(nodeID: UInt64(request.value.count))) }
    router.register(KVMethods.get) { request, _ in
        guard !request.key.isEmpty else { throw GRPCStatus(.invalidArgument, "key must not be empty") }
        return GetResponse(header: ResponseHeader(), found: true, value: request.key)
    }
    return router
}()
let configuration = {
    var configuration = GRPCServer.Configuration(host: "127.0.0.1", port: 0)
    configuration.maxMessageBytes = 4096
    return configuration
}()
let statistics = RPCStatistics()
let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzServer(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    guard let first = bytes.first else { return 0 }
    let input = (first & 1 == 1 ? preface : []) + bytes.dropFirst()
    let piece = max(1, Int(first >> 1) * 8)
    let loop = EmbeddedEventLoop()
    let channel = EmbeddedChannel(loop: loop)
    do {
        try GRPCServer.serve(channel, configuration: configuration, router: router, sideDoor: Answers(), statistics: statistics)
        _ = try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
    } catch {
        fatalError("cannot set up the connection: \(error)")
    }
    var rest = input[...]
    while !rest.isEmpty && channel.isActive {
        var buffer = channel.allocator.buffer(capacity: piece)
        buffer.writeBytes(rest.prefix(piece))
        rest = rest.dropFirst(piece)
        do {
            try channel.writeInbound(buffer)
        } catch {
            break  // the pipeline refused the bytes: the connection is closed
        }
        loop.run()
        while (try? channel.readOutbound(as: ByteBuffer.self)) != nil {}
    }
    loop.run()
    _ = try? channel.finish(acceptAlreadyClosed: true)
    loop.run()
    try? loop.syncShutdownGracefully()
    return 0
}
