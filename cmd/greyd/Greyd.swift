import ArgumentParser
import Dispatch
import Foundation
import GreyMVCC
import GreyNode
import GreyRPC
import GreyRaft
import GreyStorage
import GreyTelemetry
import GreyWire
import Logging
import NIOCore
import NIOPosix

/// greyd: one Grey server. Settings come from flags, else GREY_* environment variables,
/// else defaults (DESIGN §3).
@main
struct Greyd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "greyd", abstract: "Run one node of a Grey cluster.",
        discussion: "Every flag can also be given as the environment variable named in its help; the flag wins.",
        version: GreyVersion.current)

    @Option(name: .customLong("node-id"), help: "This node's id, decimal or 0x hex (GREY_NODE_ID, default 0).") var nodeID: String?
    @Option(name: .long, help: "host:port for gRPC and HTTP (GREY_LISTEN_ADDR, default 0.0.0.0:5000).") var listen: String?
    @Option(name: .long, help: "Comma-separated addresses of the other initial members (GREY_CLUSTER_PEERS).") var peers: String?
    @Option(name: .long, help: "Address of any member of a running cluster to join (GREY_JOIN): added as a learner, promoted once caught up.") var join: String?
    @Option(name: .customLong("data-dir"), help: "Where this node keeps its data (GREY_DATA_DIR, default ./data/node-ID).") var dataDir: String?
    @Option(name: .long, help: "Address peers use to reach this node (GREY_ADVERTISE_ADDR, default the listen address).") var advertise: String?
    @Option(name: .customLong("election-timeout"), help: "Election timeout, randomised up to 2x (GREY_ELECTION_TIMEOUT, default 150ms).") var electionTimeout: String?
    @Option(name: .customLong("heartbeat-interval"), help: "Leader heartbeat interval (GREY_HEARTBEAT_INTERVAL, default 50ms).") var heartbeatInterval: String?
    @Option(name: .customLong("max-clock-drift"), help: "The most two nodes' clocks may differ in rate, as 5% or 0.05; leader leases are shortened by it (GREY_MAX_CLOCK_DRIFT, default 5%).") var maxClockDrift: String?
    @Option(name: .customLong("snapshot-entries"), help: "Compact the log every this many applied entries (GREY_SNAPSHOT_ENTRIES, default 10000).") var snapshotEntries: String?
    @Option(name: .customLong("quota-backend-bytes"), help: "Raise the NOSPACE alarm and refuse writes once the store would pass this size: bytes, or with KiB/MiB/GiB; 0 is 2GiB, negative is none (GREY_QUOTA_BACKEND_BYTES, default 0, as etcd's).") var quotaBackendBytes: String?
    @Option(name: .customLong("join-token"), help: "A shared secret: JoinCluster and LeaveCluster must present it, and --join sends it (GREY_JOIN_TOKEN).") var joinToken: String?
    @Option(name: .customLong("tls-cert"), help: "This node's certificate (PEM), for TLS on its port and to its peers (GREY_TLS_CERT; with --tls-key and --tls-ca).") var tlsCert: String?
    @Option(name: .customLong("tls-key"), help: "The certificate's private key (PEM) (GREY_TLS_KEY).") var tlsKey: String?
    @Option(name: .customLong("tls-ca"), help: "The cluster CA (PEM): peers and operators must hold a certificate it signed to vote, append or change the membership (GREY_TLS_CA).") var tlsCA: String?
    @Flag(name: .customLong("client-cert-auth"), help: "Every client call (KV, etcd's API, the side door's /put, /get, /status, /snapshot) needs a certificate from the cluster CA, as etcd's flag (GREY_CLIENT_CERT_AUTH=true; needs TLS).") var clientCertAuth = false
    @Option(name: .customLong("public-metrics"), help: ArgumentHelp("With --client-cert-auth, whether /health and /metrics still answer callers without a certificate (probes, Prometheus): true or false (GREY_PUBLIC_METRICS, default true).", valueName: "bool")) var publicMetrics: String?
    @Option(name: .customLong("trace-endpoint"), help: "Send OpenTelemetry traces of client calls here, OTLP over HTTP: a collector's or Jaeger's URL, /v1/traces added when it has no path (GREY_TRACE_ENDPOINT; default none: no tracing).") var traceEndpoint: String?
    @Option(name: .customLong("trace-sample"), help: "With --trace-endpoint, the share of client calls traced that do not ask for it themselves (greyctl --trace, a sampled traceparent always are), 0 to 1 or a percentage (GREY_TRACE_SAMPLE, default 0).") var traceSample: String?
    @Option(name: .long, help: "Seed for election timers, for reproducible tests (GREY_SEED, default random).") var seed: String?
    @Option(name: .customLong("log-level"), help: "error, warning, info or debug (GREY_LOG_LEVEL, default info).") var logLevel: String?
    @Option(name: .customLong("log-format"), help: "text or json, one line per event (GREY_LOG_FORMAT, default text).") var logFormat: String?
    @Option(name: .long, help: "A YAML file with the same settings in snake_case (node_id, listen, peers, ...); flags and environment win.") var config: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        var fromFile: [String: String] = [:]
        if let config {
            do {
                fromFile = try ConfigFile.load(config)
            } catch {
                fail("\(error)")
            }
        }
        // Precedence: flag, then environment, then config file, then the default.
        func setting(_ flag: String?, _ name: String) -> String? {
            flag ?? environment[name].flatMap { $0.isEmpty ? nil : $0 } ?? fromFile[name]
        }
        guard let id = SettingParsing.nodeID(setting(nodeID, "GREY_NODE_ID") ?? "0") else {
            fail("GREY_NODE_ID must be a non-negative integer, decimal or 0x-prefixed hex")
        }
        guard id != EtcdMemberID.nodeZero else {
            fail("GREY_NODE_ID 0xffffffffffffffff is reserved: etcd's API shows node 0 by that id")
        }
        let listenAddress = setting(listen, "GREY_LISTEN_ADDR") ?? "0.0.0.0:5000"
        guard let (host, port) = SettingParsing.hostPort(listenAddress) else { fail("listen address '\(listenAddress)' is not host:port") }
        let peerList = (setting(peers, "GREY_CLUSTER_PEERS") ?? "").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        for peer in peerList where SettingParsing.hostPort(peer) == nil { fail("peer '\(peer)' is not host:port") }
        let joinAddress = setting(join, "GREY_JOIN")
        if let joinAddress, SettingParsing.hostPort(joinAddress) == nil { fail("join address '\(joinAddress)' is not host:port") }
        if joinAddress != nil && !peerList.isEmpty { fail("give either --peers (to found a cluster) or --join (to join one), not both") }
        let advertised = setting(advertise, "GREY_ADVERTISE_ADDR") ?? (host == "0.0.0.0" ? "127.0.0.1:\(port)" : listenAddress)
        guard let election = SettingParsing.duration(setting(electionTimeout, "GREY_ELECTION_TIMEOUT") ?? "150ms") else {
            fail("election timeout must look like 150ms or 1s")
        }
        guard let heartbeat = SettingParsing.duration(setting(heartbeatInterval, "GREY_HEARTBEAT_INTERVAL") ?? "50ms") else {
            fail("heartbeat interval must look like 50ms")
        }
        guard heartbeat * 2 <= election else { fail("the heartbeat interval must be at most half the election timeout") }
        guard let drift = SettingParsing.fraction(setting(maxClockDrift, "GREY_MAX_CLOCK_DRIFT") ?? "5%") else {
            fail("GREY_MAX_CLOCK_DRIFT must be a fraction from 0 to 100%, like 5% or 0.05")
        }
        guard let compactEvery = UInt64(setting(snapshotEntries, "GREY_SNAPSHOT_ENTRIES") ?? "10000"), compactEvery >= 2 else {
            fail("GREY_SNAPSHOT_ENTRIES must be an integer of at least 2")
        }
        let quotaText = setting(quotaBackendBytes, "GREY_QUOTA_BACKEND_BYTES") ?? "0"
        guard let quota = SettingParsing.bytes(quotaText) else {
            fail("GREY_QUOTA_BACKEND_BYTES must be a number of bytes, like 8589934592 or 8GiB, not '\(quotaText)'")
        }
        let seedText = setting(seed, "GREY_SEED")
        guard seedText == nil || UInt64(seedText!) != nil else { fail("GREY_SEED must be a non-negative integer") }
        let seedValue = seedText.flatMap { UInt64($0) } ?? UInt64.random(in: 0...UInt64.max)
        let directory = setting(dataDir, "GREY_DATA_DIR") ?? "./data/node-\(id)"
        let levelText = setting(logLevel, "GREY_LOG_LEVEL") ?? "info"
        let levels: [String: Logger.Level] = ["debug": .debug, "info": .info, "warning": .warning, "error": .error]
        guard let level = levels[levelText] else { fail("GREY_LOG_LEVEL must be debug, info, warning or error, not '\(levelText)'") }
        let formatText = setting(logFormat, "GREY_LOG_FORMAT") ?? "text"
        guard let format = LineLogHandler.Format(rawValue: formatText), format != .plain else {
            fail("GREY_LOG_FORMAT must be text or json, not '\(formatText)'")
        }
        let logger = Logger(label: "greyd") { _ in
            LineLogHandler(node: id, format: format, level: level) { FileHandle.standardError.write(Data($0.utf8)) }
        }
        let log: @Sendable (String) -> Void = { logger.info("\($0)") }

        var nodeConfiguration = NodeConfiguration(
            id: NodeID(id), listenHost: host, listenPort: port, advertiseAddress: advertised, peers: peerList,
            dataDirectory: directory, seed: seedValue)
        nodeConfiguration.electionTimeout = election
        nodeConfiguration.heartbeatInterval = heartbeat
        nodeConfiguration.snapshotEntries = compactEvery
        nodeConfiguration.maxClockDrift = drift
        nodeConfiguration.spaceQuota = SpaceQuota(setting: quota)
        // The node has logged why; leave without a crash trace (EX_IOERR: systemd and
        // Kubernetes restart it, and it starts again once the disk has room).
        nodeConfiguration.onStorageFailure = { _ in ProcessExit.afterStorageFailure() }
        nodeConfiguration.joinToken = setting(joinToken, "GREY_JOIN_TOKEN")
        // Client connections on threads of their own, Raft's loop apart (see clientLoops).
        nodeConfiguration.clientLoops = MultiThreadedEventLoopGroup(numberOfThreads: max(1, System.coreCount - 1))
        switch (setting(tlsCert, "GREY_TLS_CERT"), setting(tlsKey, "GREY_TLS_KEY"), setting(tlsCA, "GREY_TLS_CA")) {
        case (nil, nil, nil):
            break
        case let (certificate?, key?, ca?):
            do {
                nodeConfiguration.tls = try NodeTLS(certificate: certificate, key: key, ca: ca)
            } catch {
                fail("\(error)")
            }
        default:
            fail("TLS needs all three of --tls-cert, --tls-key and --tls-ca (GREY_TLS_CERT, GREY_TLS_KEY, GREY_TLS_CA)")
        }

        guard let requireClientCertificates = SettingParsing.bool(setting(clientCertAuth ? "true" : nil, "GREY_CLIENT_CERT_AUTH") ?? "false") else {
            fail("GREY_CLIENT_CERT_AUTH must be true or false")
        }
        guard let metricsArePublic = SettingParsing.bool(setting(publicMetrics, "GREY_PUBLIC_METRICS") ?? "true") else {
            fail("GREY_PUBLIC_METRICS must be true or false")
        }
        let traceURL = setting(traceEndpoint, "GREY_TRACE_ENDPOINT").map { ($0, TraceExport.tracesURL($0)) }
        if let (given, url) = traceURL, url == nil {
            fail("GREY_TRACE_ENDPOINT must be an http or https URL, like http://127.0.0.1:4318 (an OTLP/HTTP collector), not '\(given)'")
        }
        let sampleText = setting(traceSample, "GREY_TRACE_SAMPLE") ?? "0"
        guard let sampleRatio = SettingParsing.fraction(sampleText) else {
            fail("GREY_TRACE_SAMPLE must be a fraction from 0 to 1 (or 0% to 100%), not '\(sampleText)'")
        }
        if requireClientCertificates && nodeConfiguration.tls == nil {
            fail("--client-cert-auth needs TLS: give --tls-cert, --tls-key and --tls-ca (the CA whose certificates clients must present)")
        }

        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            fail("cannot create data directory \(directory): \(error.localizedDescription)")
        }
        let storage: RaftStorage
        do {
            storage = try RaftStorage(directory: directory, nodeID: NodeID(id))
            ProcessExit.storage.withLockedValue { $0 = storage }
        } catch {
            fail("\(error)" + Self.storageAdvice(error, directory))
        }
        let traces: TraceExport? = traceURL?.1.map { url in
            do {
                let export = try TraceExport.start(
                    url: url, service: "greyd", sampleRatio: sampleRatio, attributes: ["service.instance.id": "\(id)", "grey.address": advertised], logger: logger)
                log("tracing client calls to \(url): those that ask for it, and \(sampleRatio * 100)% of the others")
                return export
            } catch {
                fail("cannot start trace export to \(url): \(error)")
            }
        }
        let handle = NodeHandle(id: NodeID(id))
        var router = NodeServices.router(for: handle)
        router.requireCertificate = requireClientCertificates
        router.tracing = traces != nil
        let rpcStatistics = RPCStatistics()
        let server: GRPCServer
        do {
            var serverConfiguration = GRPCServer.Configuration(host: host, port: port)
            serverConfiguration.tls = nodeConfiguration.tls?.server
            let refusals = RefusalLog(logger: logger)
            serverConfiguration.onRefusedConnection = { refusals.note(peer: $0, reason: $1) }
            server = try await GRPCServer.start(
                configuration: serverConfiguration, router: router, sideDoor: NodeSideDoor(handle: handle, router: router, publicHealthAndMetrics: metricsArePublic),
                statistics: rpcStatistics, group: nodeConfiguration.clientLoops)
        } catch {
            fail("cannot listen on \(listenAddress): \(error)")
        }
        if let broken = NodeServices.deliberatelyBroken {
            log("WARNING: a deliberately broken test build (\(broken)); never run it for real")
        }
        if nodeConfiguration.leaseTicks == 0 {
            log("lease reads go through ReadIndex: a clock drift of \(drift * 100)% leaves no lease within a \(election) election timeout")
        }
        let access = nodeConfiguration.tls == nil ? ""
            : requireClientCertificates ? " (TLS; peers and clients need a certificate from the cluster CA\(metricsArePublic ? ", except for /health and /metrics" : ""))"
            : " (TLS; peers need a certificate from the cluster CA)"
        log("listening on \(listenAddress)\(access), data in \(directory)")
        log("memory allocator: \(Allocator.version.map { "jemalloc \($0)" } ?? "the C library's (jemalloc is not linked in)")")
        let founding: GreyRaft.Configuration
        // A joiner that never got in (refused, or stopped before the leader answered) has an
        // empty founding membership and no term yet: it asks again.
        let saved = try? storage.bootstrapConfiguration()
        let neverJoined = saved == nil || (saved!.members.isEmpty && ((try? storage.hardState())??.term ?? 0) == 0)
        let mustJoin = joinAddress != nil && neverJoined
        if mustJoin, (try? storage.isRestoredSeed()) == true {
            fail("\(directory) was seeded by 'greyctl snapshot restore' to found a new cluster: start it with --peers, not --join")
        }
        do {
            if mustJoin, let joinAddress {
                // A joiner founds nothing: it learns the membership from the leader's log, and
                // the cluster's id (what etcd clients see in every header) from the member it
                // joins through.
                try storage.saveClusterID(try await Bootstrap.clusterID(via: joinAddress, as: nodeConfiguration, log: log))
                founding = Configuration(voters: [])
                try storage.saveBootstrapConfiguration(founding)
            } else {
                founding = try await Bootstrap.configuration(for: nodeConfiguration, storage: storage, log: log)
            }
        } catch {
            fail("\(error)")
        }
        let node: GreyNode
        do {
            node = try GreyNode(configuration: nodeConfiguration, storage: storage, bootstrap: founding, logger: logger)
        } catch {
            fail("\(error)" + Self.storageAdvice(error, directory))
        }
        node.metrics.observe(rpcStatistics)
        handle.set(node)
        await node.start()
        if mustJoin, let joinAddress {
            do {
                let members = try await Bootstrap.join(via: joinAddress, as: nodeConfiguration, log: log)
                log("joined the cluster of \(members.map { "\($0.id)@\($0.address)" }.joined(separator: ", ")); catching up")
            } catch {
                fail("cannot join via \(joinAddress): \(error)")
            }
        } else {
            log("member of a cluster of \(founding.voters.sorted().map { "\($0.rawValue)@\(founding.addresses[$0] ?? "?")" }.joined(separator: ", ")); serving")
        }

        // Until SIGTERM or SIGINT; then each step in turn, and the storage synced and closed.
        await Shutdown.run(steps: [
            ("leadership", {
                log("shutting down")
                log(await node.handOffLeadership() ? "leadership handed off" : "could not hand off leadership before stopping")
            }),
            ("server", { try? await server.close(draining: .seconds(2)) }),
            ("node", { await node.halt() }),
            ("traces", { await traces?.finish() }),
        ], logger: logger)
        ProcessExit.now(0)
    }

    /// What to do about a storage error at start, when it says: a full disk, or damaged data.
    static func storageAdvice(_ error: any Error, _ directory: String) -> String {
        switch StorageTrouble(error) {
        case .diskFull: "; the disk of \(directory) is full: free space and start again (nothing was lost)"
        case .damaged: "; the data is damaged: greyctl repair --data-dir \(directory) rebuilds it from the leader with the same id"
        case nil: ""
        }
    }

    func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("greyd: \(message)\n".utf8))
        ProcessExit.now(2)
    }
}
