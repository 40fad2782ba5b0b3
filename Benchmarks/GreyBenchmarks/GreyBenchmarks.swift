import Benchmark
import GreyRPC
import GreyWire
import Synchronization

/// The round-trip benchmark's server and client, for teardown (which gets no argument).
let openRoundTrip = Mutex<RoundTripContext?>(nil)

/// Micro-benchmarks for the wire layer's hot paths: the AppendEntries codec a leader and its
/// followers run for every replication batch, and one unary call over loopback.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
        maxDuration: .seconds(3), maxIterations: 100_000)

    let entries = (0..<64).map { index in
        Entry(term: 7, index: UInt64(1000 + index), type: .command, data: [UInt8](repeating: UInt8(index), count: 256))
    }
    let append = AppendEntriesRequest(term: 7, leaderID: 1, prevLogIndex: 999, prevLogTerm: 7, entries: entries, leaderCommit: 990)
    let encoded = append.encoded()

    Benchmark("AppendEntries encode (64 × 256 B)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(append.encoded())
        }
    }

    Benchmark("AppendEntries decode (64 × 256 B)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try AppendEntriesRequest(decoding: encoded))
        }
    }

    Benchmark("Unary round trip on loopback (Put, 256 B value)", configuration: .init(maxDuration: .seconds(5))) { (benchmark: Benchmark, context: RoundTripContext) in
        for _ in benchmark.scaledIterations {
            blackHole(try await context.channel.call(KVMethods.put, context.request))
        }
    } setup: {
        let context = try await RoundTripContext.start()
        openRoundTrip.withLock { $0 = context }
        return context
    } teardown: {
        await openRoundTrip.withLock { context in defer { context = nil }; return context }?.stop()
    }
}

/// A server that answers Put at once, and a connected client.
struct RoundTripContext: Sendable {
    let server: GRPCServer
    let channel: GRPCChannel
    let request = PutRequest(key: Array("bench-key".utf8), value: [UInt8](repeating: 0x76, count: 256))

    static func start() async throws -> RoundTripContext {
        var router = GRPCRouter()
        router.register(KVMethods.put) { _, _ in PutResponse(header: ResponseHeader(nodeID: 1, hasLeader: true)) }
        let server = try await GRPCServer.start(
            configuration: .init(host: "127.0.0.1", port: 0), router: router, sideDoor: NoSideDoor())
        let channel = try GRPCChannel(target: "127.0.0.1:\(server.port)")
        _ = try await channel.call(KVMethods.put, PutRequest(key: [1]))  // connect before measuring
        return RoundTripContext(server: server, channel: channel)
    }

    func stop() async {
        await channel.close()
        try? await server.close()
    }
}

struct NoSideDoor: HTTPSideDoor {
    func handle(_ request: SideDoorRequest) async -> SideDoorResponse {
        SideDoorResponse(status: 404, text: "")
    }
}
