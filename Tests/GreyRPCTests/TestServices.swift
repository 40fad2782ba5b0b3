import Foundation
import GreyRPC
import GreyTestSupport
import GreyWire

/// An in-memory key-value map behind the real RPC stack. It stands in for the replicated
/// state machine only in these wire-layer tests, which check transport, not consensus.
actor MemoryKV {
    private var values: [[UInt8]: [UInt8]] = [:]
    private(set) var appliedIndex: UInt64 = 0
    /// Handlers that saw their task cancelled (deadline passed or client gone).
    private(set) var cancelledCalls = 0
    /// Handlers of the "slow" key that have started: a test waits for this, not for a guess of time.
    private(set) var slowCallsEntered = 0

    func noteSlowCallEntered() {
        slowCallsEntered += 1
    }

    func noteCancelledCall() {
        cancelledCalls += 1
    }

    func put(_ key: [UInt8], _ value: [UInt8]) {
        values[key] = value
        appliedIndex += 1
    }

    func get(_ key: [UInt8]) -> [UInt8]? { values[key] }

    func delete(_ key: [UInt8]) -> Bool {
        appliedIndex += 1
        return values.removeValue(forKey: key) != nil
    }

    func compareAndSwap(_ request: CompareAndSwapRequest) -> CompareAndSwapResponse {
        let current = values[request.key]
        let matches = request.expectAbsent ? current == nil : current == request.expectedValue
        if matches {
            values[request.key] = request.newValue
            appliedIndex += 1
        }
        return CompareAndSwapResponse(succeeded: matches, currentFound: current != nil, currentValue: current ?? [])
    }
}

/// Builds a router serving every KV and ClusterService method. Cluster methods answer with
/// values derived from each request field, so a field lost or misplaced on the wire shows.
enum TestServices {
    static let nodeID: UInt64 = 4

    static func router(store: MemoryKV) -> GRPCRouter {
        var router = GRPCRouter()
        @Sendable func header() async -> ResponseHeader {
            ResponseHeader(nodeID: nodeID, leaderID: nodeID, hasLeader: true, term: 3, appliedIndex: await store.appliedIndex)
        }
        router.register(KVMethods.put) { request, _ in
            guard !request.key.isEmpty else { throw GRPCStatus(.invalidArgument, "key must not be empty") }
            await store.put(request.key, request.value)
            return PutResponse(header: await header())
        }
        router.register(KVMethods.get) { request, _ in
            switch String(decoding: request.key, as: UTF8.self) {
            case "slow":
                await store.noteSlowCallEntered()
                do {
                    try await Task.sleep(for: .seconds(60))  // cancelled by the deadline or a vanished client
                } catch {
                    await store.noteCancelledCall()
                    throw error
                }
            case "unavailable":
                throw GRPCStatus(.unavailable, "quorum not available")
            case "crash":
                throw CocoaError(.fileNoSuchFile)  // an error with no gRPC status: must become UNKNOWN
            default:
                break
            }
            let value = await store.get(request.key)
            return GetResponse(header: await header(), found: value != nil, value: value ?? [])
        }
        router.register(KVMethods.delete) { request, _ in
            DeleteResponse(header: await header(), deleted: await store.delete(request.key))
        }
        router.register(KVMethods.compareAndSwap) { request, _ in
            var response = await store.compareAndSwap(request)
            response.header = await header()
            return response
        }
        router.register(ClusterMethods.requestVote) { request, _ in
            RequestVoteResponse(term: request.term, voteGranted: request.lastLogTerm >= 2, preVote: request.preVote, voterID: nodeID)
        }
        router.register(ClusterMethods.appendEntries) { request, _ in
            let bytes = request.entries.reduce(0) { $0 + $1.data.count }
            return AppendEntriesResponse(
                term: request.term, success: true, followerID: nodeID,
                matchIndex: request.prevLogIndex + UInt64(request.entries.count),
                conflictIndex: UInt64(bytes), conflictTerm: request.entries.last?.term ?? 0,
                lastLogIndex: request.entries.last?.index ?? request.prevLogIndex, readContext: request.readContext)
        }
        router.register(ClusterMethods.installSnapshot) { request, _ in
            InstallSnapshotResponse(
                term: request.term, followerID: UInt64(request.configuration?.members.count ?? 0),
                nextOffset: request.offset + UInt64(request.data.count), installed: request.done)
        }
        router.register(ClusterMethods.timeoutNow) { request, _ in
            TimeoutNowResponse(term: request.term + 1)
        }
        router.register(ClusterMethods.joinCluster) { request, _ in
            guard request.joinToken == "let-me-in" else { throw GRPCStatus(.permissionDenied, "wrong join token") }
            return JoinClusterResponse(
                header: await header(),
                members: [
                    Member(id: nodeID, address: "127.0.0.1:5000", role: .voter, state: .leader, reachable: true),
                    Member(id: request.nodeID, address: request.address, role: request.asLearner ? .learner : .voter),
                ])
        }
        router.register(ClusterMethods.leaveCluster) { request, _ in
            guard request.force || request.nodeID != nodeID else {
                throw GRPCStatus(.failedPrecondition, "refusing to remove the leader without force")
            }
            return LeaveClusterResponse(header: await header(), members: [Member(id: nodeID, address: "127.0.0.1:5000")])
        }
        router.register(ClusterMethods.getClusterStatus) { _, _ in
            GetClusterStatusResponse(
                nodeID: nodeID, leaderID: nodeID, term: 3, commitIndex: 10, lastLogIndex: 11,
                appliedIndex: await store.appliedIndex, hasLeader: true,
                members: [Member(id: nodeID, address: "127.0.0.1:5000", role: .voter, state: .leader, matchIndex: 11, reachable: true)],
                state: .leader, snapshotIndex: 5)
        }
        router.register(ClusterMethods.promoteMember) { request, _ in
            PromoteMemberResponse(header: await header(), members: [Member(id: request.nodeID, role: .voter)])
        }
        router.register(ClusterMethods.transferLeadership) { request, _ in
            guard request.targetID != nodeID else { throw GRPCStatus(.invalidArgument, "node \(nodeID) already leads") }
            return TransferLeadershipResponse(header: ResponseHeader(nodeID: nodeID, leaderID: request.targetID, hasLeader: true, term: 4))
        }
        return router
    }
}

/// Answers the HTTP/1.1 routes from the same in-memory map.
struct TestSideDoor: HTTPSideDoor {
    let store: MemoryKV

    func handle(_ request: SideDoorRequest) async -> SideDoorResponse {
        switch (request.method, request.path) {
        case ("GET", "/health"):
            return SideDoorResponse(status: 200, text: "ok\n")
        case ("GET", "/status"):
            let applied = await store.appliedIndex
            return SideDoorResponse(
                status: 200, contentType: "application/json",
                text: "{\"node_id\":\(TestServices.nodeID),\"leader_id\":\(TestServices.nodeID),\"applied_index\":\(applied)}")
        case ("POST", "/put"):
            guard let object = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: String],
                let key = object["key"], let value = object["value"]
            else { return SideDoorResponse(status: 400, text: "body must be {\"key\":..,\"value\":..}\n") }
            await store.put(Array(key.utf8), Array(value.utf8))
            return SideDoorResponse(status: 200, contentType: "application/json", text: "{\"ok\":true}")
        case ("GET", "/get"):
            guard let key = request.query["key"] else { return SideDoorResponse(status: 400, text: "missing key\n") }
            guard let value = await store.get(Array(key.utf8)) else { return SideDoorResponse(status: 404, text: "not found\n") }
            return SideDoorResponse(status: 200, body: value)
        default:
            return SideDoorResponse(status: 404, text: "no route \(request.method) \(request.path)\n")
        }
    }
}

/// A server on an ephemeral loopback port with the test services, closed by `stop()`.
struct TestServer {
    let server: GRPCServer
    let store: MemoryKV
    var port: Int { server.port }
    var target: String { "127.0.0.1:\(port)" }
    /// A client channel to this server. Its connect may take 5 s, not a node's 1 s: the suites
    /// run side by side on 2 cores, and connects to a live test server timed out at 1 s.
    func channel() throws -> GRPCChannel { try GRPCChannel(target: target, connectTimeout: .seconds(5)) }

    static func start(port: Int = 0, configure: (inout GRPCServer.Configuration) -> Void = { _ in }) async throws -> TestServer {
        let store = MemoryKV()
        var configuration = GRPCServer.Configuration(host: "127.0.0.1", port: port)
        // RawConnection writes its first bytes from a task after the connect; at the crowded
        // start of a full run that task once waited past the default 10 s, and the server had
        // closed the connection already. Only the test of the deadline itself sets it short.
        configuration.firstBytesTimeout = .seconds(60)
        configure(&configuration)
        let server = try await GRPCServer.start(
            configuration: configuration, router: TestServices.router(store: store), sideDoor: TestSideDoor(store: store))
        return TestServer(server: server, store: store)
    }

    func stop() async throws {
        try await server.close()
    }
}
