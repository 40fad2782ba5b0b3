import GreyMVCC
import GreyRPC
import GreyStorage
import GreyWire

/// The HTTP/1.1 routes on the gRPC port: `/health`, `/status` (JSON, snake_case fields of
/// GetClusterStatusResponse), `/put` and `/get` for curl.
public struct NodeSideDoor: HTTPSideDoor {
    let handle: NodeHandle
    let router: GRPCRouter
    /// Whether /health and /metrics answer callers without a certificate when the router
    /// requires one for everything else (probes and Prometheus often hold none).
    let publicHealthAndMetrics: Bool

    public init(handle: NodeHandle, router: GRPCRouter, publicHealthAndMetrics: Bool = true) {
        self.handle = handle
        self.router = router
        self.publicHealthAndMetrics = publicHealthAndMetrics
    }

    public func handle(_ request: SideDoorRequest) async -> SideDoorResponse {
        let open = publicHealthAndMetrics && request.method == "GET" && (request.path == "/health" || request.path == "/metrics")
        if router.requireCertificate && !request.peerCertified && !open {
            return SideDoorResponse(status: 401, text: GRPCRouter.certificateRequired(request.path).message + "\n")
        }
        switch (request.method, request.path) {
        case ("GET", "/health"):
            guard let node = handle.startedNode else { return SideDoorResponse(status: 503, text: "starting\n") }
            let status = await node.status()
            return status.hasLeader
                ? SideDoorResponse(status: 200, text: "ok\n")
                : SideDoorResponse(status: 503, text: "no leader\n")
        case ("GET", "/metrics"):
            guard let node = handle.startedNode else { return SideDoorResponse(status: 503, text: "starting\n") }
            let status = await node.status()
            let body = await Task.detached { node.metrics.render(status, node.storeFigures) }.value
            return SideDoorResponse(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: body)
        case ("GET", "/snapshot"):
            // A backup: the state as applied on this node, streamed (`greyctl snapshot create`).
            guard let node = handle.startedNode else { return SideDoorResponse(status: 503, text: "starting\n") }
            let source: SnapshotSource
            do {
                source = try await node.openSnapshot()
            } catch {
                return SideDoorResponse(status: 503, text: "\(error)\n")
            }
            return SideDoorResponse(status: 200, contentType: "application/octet-stream") {
                try await node.snapshotQueue.run {
                    source.lastChunk?.done == true ? nil : try source.nextChunk(maxBytes: 1 << 20).data
                }
            }
        case ("GET", "/status"):
            guard let node = handle.startedNode else {
                return SideDoorResponse(status: 200, contentType: "application/json", text: Self.json(GetClusterStatusResponse(nodeID: handle.id.rawValue)))
            }
            return SideDoorResponse(status: 200, contentType: "application/json", text: Self.json(await node.status()))
        case ("POST", "/put"):
            guard let (key, value) = Self.parsePut(request.body) else {
                return SideDoorResponse(status: 400, text: "body must be {\"key\":\"..\",\"value\":\"..\"}\n")
            }
            return await call(KVMethods.put.path, PutRequest(key: Array(key.utf8), value: Array(value.utf8)).encoded(), peerCertified: request.peerCertified) { _ in "{\"ok\":true}\n" }
        case ("GET", "/get"):
            guard let key = request.query["key"], !key.isEmpty else { return SideDoorResponse(status: 400, text: "missing key\n") }
            let consistency: ReadConsistency = switch request.query["consistency"] {
            case "stale": .stale
            case "lease": .lease
            default: .linearizable
            }
            return await call(KVMethods.get.path, GetRequest(key: Array(key.utf8), consistency: consistency).encoded(), peerCertified: request.peerCertified) { bytes in
                guard let response = try? GetResponse(decoding: bytes), response.found else { return nil }
                return String(decoding: response.value, as: UTF8.self)
            }
        default:
            return SideDoorResponse(status: 404, text: "no route \(request.method) \(request.path)\n")
        }
    }

    /// Runs a KV method through the same handler gRPC clients reach.
    private func call(_ path: String, _ request: [UInt8], peerCertified: Bool, render: ([UInt8]) -> String?) async -> SideDoorResponse {
        guard let handler = router.handler(for: path) else { return SideDoorResponse(status: 500, text: "no handler\n") }
        switch await handler(request, GRPCCallContext(path: path, deadline: nil, remoteAddress: nil, peerCertified: peerCertified)) {
        case .success(let bytes):
            guard let body = render(bytes) else { return SideDoorResponse(status: 404, text: "not found\n") }
            return SideDoorResponse(status: 200, text: body)
        case .failure(let status):
            let code = switch status.code {
            case .invalidArgument: 400
            case .unauthenticated: 401
            case .unavailable: 503
            // The space quota: HTTP's own word for it. Overload is the other RESOURCE_EXHAUSTED.
            case .resourceExhausted where status == MVCCError.noSpace.status: 507
            case .resourceExhausted: 429
            default: 500
            }
            return SideDoorResponse(status: code, text: status.message + "\n")
        }
    }

    static func parsePut(_ body: [UInt8]) -> (String, String)? {
        // A deliberately small JSON reader for two string fields; Foundation's parser is not
        // linked into the node for this one route.
        let text = String(decoding: body, as: UTF8.self)
        func field(_ name: String) -> String? {
            let marker = "\"\(name)\""
            guard let start = text.indices.first(where: { text[$0...].hasPrefix(marker) }) else { return nil }
            let rest = text[text.index(start, offsetBy: marker.count)...].drop { $0 == " " || $0 == ":" }
            guard rest.first == "\"" else { return nil }
            var value = ""
            var escaped = false
            for character in rest.dropFirst() {
                if escaped { value.append(character); escaped = false; continue }
                if character == "\\" { escaped = true; continue }
                if character == "\"" { return value }
                value.append(character)
            }
            return nil
        }
        guard let key = field("key"), let value = field("value") else { return nil }
        return (key, value)
    }

    static func json(_ status: GetClusterStatusResponse) -> String {
        let members = status.members.map { member in
            "{\"id\":\(member.id),\"address\":\"\(member.address)\",\"role\":\"\(member.role == .voter ? "voter" : "learner")\",\"state\":\"\(member.state)\",\"match_index\":\(member.matchIndex),\"reachable\":\(member.reachable),\"replication\":\"\(member.replication.name)\",\"next_index\":\(member.nextIndex),\"since_contact_ms\":\(member.sinceContactMilliseconds),\"inflight\":\(member.inflight)}"
        }.joined(separator: ",")
        return "{\"node_id\":\(status.nodeID),\"leader_id\":\(status.leaderID),\"has_leader\":\(status.hasLeader),\"term\":\(status.term),\"commit_index\":\(status.commitIndex),\"last_log_index\":\(status.lastLogIndex),\"applied_index\":\(status.appliedIndex),\"state\":\"\(status.state)\",\"members\":[\(members)]}\n"
    }
}
