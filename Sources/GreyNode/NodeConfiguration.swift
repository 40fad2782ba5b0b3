import GreyMVCC
import GreyRPC
import GreyRaft
import GreyWire
import NIOCore
import NIOPosix

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
    /// The most any two nodes' clocks may differ in rate (0.05 = 5%); leader leases are
    /// shortened by it, and lease reads go through ReadIndex when it leaves no lease.
    public var maxClockDrift = NodeConfiguration.defaultMaxClockDrift
    /// 5%: fifty times what NTP may slew a clock (500 ppm), so a lease stays sound on
    /// machines whose clocks are badly kept, at the cost of one tick of a 15-tick lease.
    public static let defaultMaxClockDrift = 0.05
    public var seed: UInt64
    /// Compact the log once this many applied entries sit behind the last compaction point.
    public var snapshotEntries: UInt64 = 10_000
    /// Entries kept behind the applied index at compaction, so a follower a little behind
    /// catches up from the log rather than by a whole snapshot.
    public var snapshotCatchUpEntries: UInt64 { min(5_000, snapshotEntries / 2) }
    /// Bytes per InstallSnapshot chunk (well under the 4 MiB message limit).
    public var snapshotChunkBytes = 1 << 20
    /// The event loop the node runs on: its actor, its timer and its connections to its peers.
    public var eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.next()
    /// The loops that serve client connections (when the server is started on them) and that
    /// calls forwarded to the leader leave from. greyd gives them threads of their own, apart
    /// from `eventLoop`: on one loop, a leader answering a thousand streams of 100-key Ranges
    /// handled its heartbeats' replies so late that it lost its quorum every few seconds.
    /// Client work now queues on its own thread and Raft's does not wait behind it; a read or
    /// write crosses to the node's loop and back once. An in-process cluster (tests, the demo)
    /// serves on `eventLoop` itself.
    public var clientLoops: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    /// Writes (and, separately, linearizable reads) waiting on this node at once; beyond it
    /// new ones are refused with RESOURCE_EXHAUSTED at once instead of queueing without bound
    /// while a quorum is slow or gone. Enough for every stream of 16 full connections.
    public var maxPendingRequests = 16_384
    /// Writes that would take the store past it are refused and raise NOSPACE (etcd's
    /// `--quota-backend-bytes`; 2 GiB unless set).
    public var spaceQuota = SpaceQuota(setting: 0)
    /// When set, JoinCluster and LeaveCluster must present it: only whoever holds the
    /// cluster's secret changes its membership. A joiner presents it too.
    public var joinToken: String?
    /// TLS on the port and to peers; with it, Raft and membership calls must come with a
    /// certificate from the cluster CA. nil: cleartext (h2c).
    public var tls: NodeTLS?
    /// What the node does when its storage fails (a full disk, an I/O error), after logging
    /// the reason: it must not go on acknowledging anything it could not write, so it stops.
    /// greyd leaves the process (`ProcessExit`); in-process nodes trap, as before.
    public var onStorageFailure: @Sendable (String) -> Never = { fatalError($0) }
    /// Links cut on purpose (in-process demo clusters); nil in greyd.
    public var linkFaults: (any LinkFaults)?

    public init(id: NodeID, listenHost: String, listenPort: Int, advertiseAddress: String, peers: [String], dataDirectory: String, seed: UInt64) {
        self.id = id
        self.listenHost = listenHost
        self.listenPort = listenPort
        self.advertiseAddress = advertiseAddress
        self.peers = peers
        self.dataDirectory = dataDirectory
        self.seed = seed
    }

    /// The address this node's own connections (to peers, to the leader) leave from: the
    /// listen IP when it is a specific one, so peers and firewalls see traffic from the
    /// address the node is known by; nil (kernel's choice) for a wildcard or a host name.
    public var sourceHost: String? {
        guard let address = try? SocketAddress(ipAddress: listenHost, port: 0) else { return nil }
        switch address {
        case .v4(let v4) where v4.address.sin_addr.s_addr != 0: return listenHost
        case .v6 where listenHost != "::" && listenHost != "[::]": return listenHost
        default: return nil
        }
    }

    /// A channel from this node to `address`: leaving from `sourceHost`, presenting the node's
    /// TLS identity when it has one. How the node dials its peers, the leader and a cluster to join.
    /// `writeAtOnce`: for the Raft messages to its peers (see `GRPCChannel.init`).
    func channel(to address: String, on group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, writeAtOnce: Bool = false) throws(GRPCStatus) -> GRPCChannel {
        try GRPCChannel(target: address, group: group, sourceHost: sourceHost, tls: tls?.client, writeAtOnce: writeAtOnce)
    }

    /// The core counts time in ticks of this length.
    static let tick: Duration = .milliseconds(10)

    var electionTimeoutTicks: Int { max(2, Int(electionTimeout / Self.tick)) }
    var heartbeatIntervalTicks: Int { max(1, Int(heartbeatInterval / Self.tick)) }

    /// How long a leader's lease lasts in ticks with these settings (0: no lease; see `RaftConfig.leaseTicks`).
    public var leaseTicks: Int {
        var config = RaftConfig(id: id, seed: 0)
        config.electionTimeoutTicks = electionTimeoutTicks
        config.maxClockDrift = maxClockDrift
        return config.leaseTicks
    }
}
