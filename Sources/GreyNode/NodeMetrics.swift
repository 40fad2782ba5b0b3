import Dispatch
import Foundation
import GreyRPC
import GreyWire
import NIOConcurrencyHelpers
import Prometheus

/// A node's Prometheus metrics, served at `GET /metrics`. Consensus gauges are read from the
/// node's status when scraped; RPC latency and leader changes are recorded as they happen.
public final class NodeMetrics: Sendable {
    private let registry = PrometheusCollectorRegistry()
    private let term: Gauge
    private let logIndex: Gauge
    private let commitIndex: Gauge
    private let appliedIndex: Gauge
    private let isLeader: Gauge
    private let leaderChanges: Counter
    private let storageBytes: Gauge
    private let snapshotIndex: Gauge
    private let snapshotsSent: Counter
    private let snapshotBytesSent: Counter
    private let snapshotSendSeconds: Gauge
    private let lagGauges = NIOLockedValueBox([UInt64: Gauge]())
    private let latency = NIOLockedValueBox([String: DurationHistogram]())
    private let calls = NIOLockedValueBox([String: [GRPCStatus.Code: Counter]]())
    private let lastLeader = NIOLockedValueBox<UInt64?>(nil)
    private let hasLeader: Gauge
    private let syncs: DurationHistogram
    private let applies: DurationHistogram
    private let heldLoops: DurationHistogram
    private let proposalsFailed: Counter
    private let stateBytes: Gauge
    private let quotaBytes: Gauge
    private let noSpace: Gauge
    private let dataDirectory: String
    /// The data directory's size as last measured, and when: a scrape walks the directory at
    /// most once per `sizeRefresh`, however often it is scraped.
    private let measuredSize = NIOLockedValueBox<(at: ContinuousClock.Instant, bytes: Int)?>(nil)
    static let sizeRefresh: Duration = .seconds(10)

    static let latencyBuckets: [Duration] = [
        .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
    ]

    /// Synced log writes and applies: from a fast SSD's 100 µs to a disk in trouble.
    static let diskBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .seconds(5),
    ]

    /// Stalls of the node's loop: from a few missed ticks (40 ms) to a paused VM.
    static let stallBuckets: [Duration] = [
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5), .seconds(30),
    ]

    /// A metric's whole name and help text as swift-prometheus wants them (the name is not
    /// split into namespace/subsystem/unit: empty parts are left out of the exposed name).
    private static func describe(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    public init(dataDirectory: String) {
        self.dataDirectory = dataDirectory
        term = registry.makeGauge(descriptor: Self.describe("grey_consensus_term", "The current Raft term."))
        logIndex = registry.makeGauge(descriptor: Self.describe("grey_consensus_log_index", "Index of the last entry in this node's log."))
        commitIndex = registry.makeGauge(descriptor: Self.describe("grey_consensus_commit_index", "Highest log index known committed."))
        appliedIndex = registry.makeGauge(descriptor: Self.describe("grey_consensus_applied_index", "Highest log index applied to the state machine."))
        isLeader = registry.makeGauge(descriptor: Self.describe("grey_cluster_leader", "1 if this node leads, else 0."))
        leaderChanges = registry.makeCounter(descriptor: Self.describe("grey_leader_changes_total", "Times this node saw the leader change."))
        storageBytes = registry.makeGauge(descriptor: Self.describe("grey_storage_used_bytes", "Bytes used by this node's data directory."))
        snapshotIndex = registry.makeGauge(descriptor: Self.describe("grey_snapshot_index", "The index the log was last compacted through."))
        snapshotsSent = registry.makeCounter(descriptor: Self.describe("grey_snapshots_sent_total", "Snapshots this node streamed to followers."))
        snapshotBytesSent = registry.makeCounter(descriptor: Self.describe("grey_snapshot_sent_bytes_total", "Bytes of snapshots streamed to followers."))
        snapshotSendSeconds = registry.makeGauge(descriptor: Self.describe("grey_snapshot_last_send_seconds", "How long the last snapshot transfer took."))
        hasLeader = registry.makeGauge(descriptor: Self.describe("grey_has_leader", "1 if this node knows a leader, else 0."))
        syncs = registry.makeDurationHistogram(
            descriptor: Self.describe("grey_disk_sync_seconds", "Time of each synced write of the Raft log (entries, vote, term): the fsync a write waits for."),
            buckets: Self.diskBuckets)
        applies = registry.makeDurationHistogram(
            descriptor: Self.describe("grey_apply_seconds", "Time to apply one batch of committed entries to the state machine."), buckets: Self.diskBuckets)
        heldLoops = registry.makeDurationHistogram(
            descriptor: Self.describe(
                "grey_loop_held_seconds",
                "Stalls of the node's event loop: how long it went without a tick, each time it missed more than three (a long fsync, a paused process or VM, a starved CPU)."),
            buckets: Self.stallBuckets)
        proposalsFailed = registry.makeCounter(
            descriptor: Self.describe("grey_proposals_failed_total", "Writes proposed on this node that failed: dropped by a leader change, or refused for overload."))
        stateBytes = registry.makeGauge(descriptor: Self.describe("grey_state_bytes", "Bytes the state machine takes (what the space quota counts): tables and memtables."))
        quotaBytes = registry.makeGauge(descriptor: Self.describe("grey_quota_backend_bytes", "The space quota (--quota-backend-bytes); 0 when there is none."))
        noSpace = registry.makeGauge(descriptor: Self.describe("grey_alarm_nospace", "1 while a NOSPACE alarm is raised in the cluster (writes that add data are refused), else 0."))
    }

    /// The store's size against its quota, and whether NOSPACE is raised.
    struct StoreFigures {
        var bytes: Int64
        var quota: Int64?
        var noSpace: Bool
    }

    func noteSync(_ duration: Duration) { syncs.record(duration) }
    func noteApply(_ duration: Duration) { applies.record(duration) }
    func noteLoopHeld(_ duration: Duration) { heldLoops.record(duration) }
    func noteProposalFailed() { proposalsFailed.increment() }

    /// Feeds RPC latency from a server's statistics.
    public func observe(_ statistics: RPCStatistics) {
        statistics.observeCalls { [self] path, code, duration in
            histogram(for: path).record(duration)
            counter(for: path, code).increment()
        }
    }

    private func histogram(for path: String) -> DurationHistogram {
        latency.withLockedValue { histograms in
            if let existing = histograms[path] { return existing }
            let created = registry.makeDurationHistogram(descriptor: Self.describe("grey_rpc_latency_seconds", "Time from a call's arrival to its answer, by method."), labels: [("method", path)], buckets: Self.latencyBuckets)
            histograms[path] = created
            return created
        }
    }

    /// Calls answered, by method and status: errors are visible even to load tools that
    /// count only HTTP statuses (a gRPC error is an HTTP 200).
    private func counter(for path: String, _ code: GRPCStatus.Code) -> Counter {
        calls.withLockedValue { counters in
            if let existing = counters[path]?[code] { return existing }
            let created = registry.makeCounter(
                descriptor: Self.describe("grey_rpc_requests_total", "Calls answered, by method and gRPC status code."),
                labels: [("method", path), ("code", code.name)])
            counters[path, default: [:]][code] = created
            return created
        }
    }

    /// Updates the scrape-time gauges from `status` and `store` and returns the exposition text.
    func render(_ status: GetClusterStatusResponse, _ store: StoreFigures) -> [UInt8] {
        stateBytes.set(to: Double(store.bytes))
        quotaBytes.set(to: Double(store.quota ?? 0))
        noSpace.set(to: store.noSpace ? 1 : 0)
        term.set(to: Double(status.term))
        logIndex.set(to: Double(status.lastLogIndex))
        commitIndex.set(to: Double(status.commitIndex))
        appliedIndex.set(to: Double(status.appliedIndex))
        let leads = status.hasLeader && status.leaderID == status.nodeID
        isLeader.set(to: leads ? 1 : 0)
        hasLeader.set(to: status.hasLeader ? 1 : 0)
        if leads {
            for member in status.members where member.id != status.nodeID {
                let gauge = lagGauges.withLockedValue { gauges in
                    if let existing = gauges[member.id] { return existing }
                    let created = registry.makeGauge(
                        descriptor: Self.describe("grey_replication_lag", "Entries a follower is behind the leader's log (on the leader)."),
                        labels: [("follower", String(member.id))])
                    gauges[member.id] = created
                    return created
                }
                gauge.set(to: Double(status.lastLogIndex - min(status.lastLogIndex, member.matchIndex)))
            }
        }
        storageBytes.set(to: Double(dataDirectorySize()))
        return registry.emitToBuffer()
    }

    func noteCompaction(through index: UInt64) {
        snapshotIndex.set(to: Double(index))
    }

    func noteSnapshotSent(bytes: UInt64, seconds: Double) {
        snapshotsSent.increment()
        snapshotBytesSent.increment(by: Int64(bytes))
        snapshotSendSeconds.set(to: seconds)
    }

    /// Counts a leader change when the known leader differs from the last one seen.
    func noteLeader(_ leader: UInt64?) {
        let changed = lastLeader.withLockedValue { last in
            defer { last = leader }
            return leader != nil && last != leader
        }
        if changed { leaderChanges.increment() }
    }

    /// The data directory's size, measured again only when the last measure is `sizeRefresh`
    /// old: a scrape every second of a node with thousands of files would walk them all.
    private func dataDirectorySize() -> Int {
        let now = ContinuousClock.now
        if let known = measuredSize.withLockedValue({ $0 }), now - known.at < Self.sizeRefresh { return known.bytes }
        let bytes = Self.directorySize(dataDirectory)
        measuredSize.withLockedValue { $0 = (now, bytes) }
        return bytes
    }

    static func directorySize(_ path: String) -> Int {
        guard let enumerator = FileManager.default.enumerator(atPath: path) else { return 0 }
        var total = 0
        while let item = enumerator.nextObject() as? String {
            if let size = (try? FileManager.default.attributesOfItem(atPath: path + "/" + item))?[.size] as? Int { total += size }
        }
        return total
    }
}
