import GreyRaft

/// Everything a node needs to start, however it was given (flags, environment, YAML).
public struct NodeConfiguration: Sendable {
    public var id: NodeID
    public var listenHost: String
    public var listenPort: Int
    /// The address peers and clients use to reach this node (`host:port`).
    public var advertiseAddress: String
    /// Addresses of the other initial members; empty for a single-node cluster.
    public var peers: [String]
    public var dataDirectory: String
    public var electionTimeout: Duration = .milliseconds(150)
    public var heartbeatInterval: Duration = .milliseconds(50)
    public var seed: UInt64

    public init(id: NodeID, listenHost: String, listenPort: Int, advertiseAddress: String, peers: [String], dataDirectory: String, seed: UInt64) {
        self.id = id
        self.listenHost = listenHost
        self.listenPort = listenPort
        self.advertiseAddress = advertiseAddress
        self.peers = peers
        self.dataDirectory = dataDirectory
        self.seed = seed
    }

    /// The core counts time in ticks of this length.
    static let tick: Duration = .milliseconds(10)

    var electionTimeoutTicks: Int { max(2, Int(electionTimeout / Self.tick)) }
    var heartbeatIntervalTicks: Int { max(1, Int(heartbeatInterval / Self.tick)) }
}
