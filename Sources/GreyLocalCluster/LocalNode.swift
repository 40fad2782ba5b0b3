import Foundation
import GreyNode
import GreyRPC
import GreyRaft
import GreyStorage
import GreyWire
import NIOPosix

/// One real node of an in-process cluster: its own RocksDB data directory, gRPC server on a
/// loopback port and Raft runtime — everything greyd runs, minus the process. `kill` stops it
/// as a crash would (volatile state gone, nothing more reaches disk); `start` again is a
/// restart from what is on disk, on the same port.
actor LocalNode {
    let id: NodeID
    let directory: String
    private let storage: RaftStorage
    private let links: LinkTable
    private let electionTimeout: Duration
    private let maxPendingRequests: Int?
    private let log: @Sendable (String) -> Void
    /// The bound port, fixed by the first start so that restarts keep the address.
    private var port = 0
    private var server: GRPCServer?
    private var node: GreyNode?

    init(
        id: NodeID, directory: String, links: LinkTable, electionTimeout: Duration, maxPendingRequests: Int?,
        log: @escaping @Sendable (String) -> Void
    ) throws {
        self.maxPendingRequests = maxPendingRequests
        self.id = id
        self.directory = directory
        self.links = links
        self.electionTimeout = electionTimeout
        self.log = log
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        storage = try RaftStorage(directory: directory, nodeID: id)
    }

    var address: String { "127.0.0.1:\(port)" }
    var isRunning: Bool { node != nil }

    /// Binds the port (an ephemeral one the first time) so the address is known before the
    /// membership that names it is formed.
    func bind() async throws -> String {
        let handle = NodeHandle(id: id)
        let router = NodeServices.router(for: handle)
        let statistics = RPCStatistics()
        server = try await GRPCServer.start(
            configuration: .init(host: "127.0.0.1", port: port), router: router,
            sideDoor: NodeSideDoor(handle: handle, router: router), statistics: statistics, group: eventLoop)
        port = server!.port
        pendingHandle = (handle, statistics)
        return address
    }

    private var pendingHandle: (NodeHandle, RPCStatistics)?
    /// The loop the node and the connections it serves share (as in greyd).
    private let eventLoop = MultiThreadedEventLoopGroup.singleton.next()

    /// Starts the runtime: founding members pass the founding membership (used only on the
    /// first start), a joiner passes nil and then asks the cluster to add it.
    func start(founding: GreyRaft.Configuration?) async throws {
        if server == nil { _ = try await bind() }
        guard let (handle, statistics) = pendingHandle else { return }
        pendingHandle = nil
        var configuration = NodeConfiguration(
            id: id, listenHost: "127.0.0.1", listenPort: port, advertiseAddress: address, peers: [],
            dataDirectory: directory, seed: UInt64.random(in: 0...UInt64.max))
        configuration.electionTimeout = electionTimeout
        configuration.heartbeatInterval = electionTimeout / 3
        configuration.linkFaults = links
        configuration.eventLoop = eventLoop
        configuration.clientLoops = eventLoop
        if let maxPendingRequests { configuration.maxPendingRequests = maxPendingRequests }
        let saved = try storage.bootstrapConfiguration()
        let bootstrap = saved ?? founding ?? GreyRaft.Configuration(voters: [])
        if saved == nil { try storage.saveBootstrapConfiguration(bootstrap) }
        let node = try GreyNode(configuration: configuration, storage: storage, bootstrap: bootstrap, log: log)
        node.metrics.observe(statistics)
        handle.set(node)
        await node.start()
        self.node = node
    }

    /// Stops serving and halts the runtime; the data directory stays for a restart.
    func kill() async {
        try? await server?.close()
        server = nil
        pendingHandle = nil
        await node?.halt()
        node = nil
    }

    /// The node's own view of the cluster, nil while it is down.
    func status() async -> GetClusterStatusResponse? {
        await node?.status()
    }
}
