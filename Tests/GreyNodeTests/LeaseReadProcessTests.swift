import Foundation
import GreyRPC
import GreyWire
import Testing

/// Lease reads against real greyd processes at the two moments a lease can lie: a leader
/// paused past its lease while the others elect, and a leadership transfer.
@Suite("lease reads across pauses and transfers", .serialized)
struct LeaseReadProcessTests {
    static func status(_ cluster: GreydCluster, _ node: Int) async -> GetClusterStatusResponse? {
        try? await cluster.channel(node).call(ClusterMethods.getClusterStatus, GetClusterStatusRequest(), timeout: .milliseconds(300))
    }

    /// Waits until one of `nodes` reports a leader other than `old`; returns it.
    static func newLeader(_ cluster: GreydCluster, among nodes: [Int], notBeing old: Int) async throws -> Int {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            for node in nodes {
                if let status = await status(cluster, node), status.hasLeader, status.leaderID != UInt64(old) { return Int(status.leaderID) }
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw GRPCStatus(.unavailable, "no new leader among \(nodes) within 10 s")
    }

    @Test("a leader paused past its lease answers a lease read queued in its socket with the new value or an error, never the old one")
    func pausedLeaderLeaseRead() async throws {
        let cluster = try GreydCluster(count: 3)
        defer { cluster.stopAll() }
        var leader = try await cluster.waitForLeader()
        let key = Array("paused-lease".utf8)
        var outcomes: [String] = []
        for round in 0..<6 {
            let old = Array("old-\(round)".utf8)
            let new = Array("new-\(round)".utf8)
            _ = try await cluster.channel(leader).call(KVMethods.put, PutRequest(key: key, value: old), timeout: .seconds(5))
            // A connection of its own to the leader, open before the pause, so the read waits
            // in the paused process's socket rather than in a connect.
            let direct = try cluster.ownChannel(leader)
            _ = try await direct.call(ClusterMethods.getClusterStatus, GetClusterStatusRequest(), timeout: .seconds(2))
            let process = try #require(cluster.processes[leader])
            kill(process.processIdentifier, SIGSTOP)
            let others = (0..<3).filter { $0 != leader }
            let successor = try await Self.newLeader(cluster, among: others, notBeing: leader)
            _ = try await cluster.channel(successor).call(KVMethods.put, PutRequest(key: key, value: new), timeout: .seconds(5))
            let read = Task { try await direct.call(KVMethods.get, GetRequest(key: key, consistency: .lease), timeout: .seconds(3)) }
            try await Task.sleep(for: .milliseconds(50))  // the request's bytes reach the paused node's socket
            kill(process.processIdentifier, SIGCONT)
            switch await read.result {
            case .success(let got):
                #expect(got.value == new, "round \(round): the paused ex-leader answered \(String(decoding: got.value, as: UTF8.self))")
                outcomes.append("new")
            case .failure(let error):
                outcomes.append("error (\(error))")
            }
            await direct.close()
            leader = try await cluster.waitForLeader()
        }
        // Errors are allowed (the old leader knows it lost); stale values are not. Say what happened.
        print("paused-leader lease reads: \(outcomes)")
    }

    @Test("lease reads to the old leader during transfer-leader under writes to the new one never go back in time")
    func leaseReadsThroughTransfers() async throws {
        // Transfers are explicit here; a 1 s election timeout keeps the debug nodes, starved of
        // CPU by the suites beside them, from adding elections of their own (a clean-clone run
        // made too little progress for the check below).
        let cluster = try GreydCluster(count: 3, settings: ["GREY_ELECTION_TIMEOUT": "1s"])
        defer { cluster.stopAll() }
        let first = try await cluster.waitForLeader()
        let key = Array("transfer-lease".utf8)
        _ = try await cluster.channel(first).call(KVMethods.put, PutRequest(key: key, value: Array("0".utf8)), timeout: .seconds(5))
        let acknowledged = AcknowledgedCounter()
        let readCount = AcknowledgedCounter()
        let finished = AcknowledgedCounter()
        // The run ends when it has done enough, not after a fixed time: a starved CI machine got
        // through 2 transfers and under 50 reads in a 4 s window. The deadline only bounds a
        // cluster that makes no progress at all.
        let goal = (transfers: 4, reads: 60, writes: 60)
        let deadline = ContinuousClock.now + .seconds(60)
        // One writer: an increasing counter, through whichever node it was given (forwarded to the leader).
        let writer = Task {
            let channel = try cluster.channel((first + 1) % 3)
            var next = 1
            while finished.value == 0 {
                if (try? await channel.call(KVMethods.put, PutRequest(key: key, value: Array(String(next).utf8)), timeout: .seconds(1))) != nil {
                    acknowledged.set(next)
                    next += 1
                }
            }
        }
        // Readers on the first leader: each read must see at least what was acknowledged before it began.
        let reader = Task { () -> [String] in
            let channel = try cluster.channel(first)
            var stale: [String] = []
            while finished.value == 0 {
                let floor = acknowledged.value
                guard let got = try? await channel.call(KVMethods.get, GetRequest(key: key, consistency: .lease), timeout: .seconds(1)) else { continue }
                readCount.set(readCount.value + 1)
                let seen = Int(String(decoding: got.value, as: UTF8.self)) ?? -1
                if seen < floor { stale.append("read \(seen) after \(floor) was acknowledged") }
            }
            return stale
        }
        // Leadership moves around the three nodes for as long as both run.
        var transfers = 0
        var target = (first + 1) % 3
        while transfers < goal.transfers || readCount.value < goal.reads || acknowledged.value < goal.writes, ContinuousClock.now < deadline {
            if (try? await cluster.channel(first).call(ClusterMethods.transferLeadership, TransferLeadershipRequest(targetID: UInt64(target)), timeout: .seconds(2))) != nil {
                transfers += 1
            }
            target = (target + 1) % 3
            try await Task.sleep(for: .milliseconds(300))
        }
        finished.set(1)
        try await writer.value
        let stale = try await reader.value
        #expect(stale.isEmpty, "\(stale.prefix(5))")
        #expect(transfers >= goal.transfers, "only \(transfers) transfers happened in 60 s")
        #expect(readCount.value >= goal.reads && acknowledged.value >= goal.writes, "\(readCount.value) reads, \(acknowledged.value) writes in 60 s")
    }
}

/// The newest value a writer had acknowledged, shared with readers (also a count or a flag
/// shared between the test's tasks).
final class AcknowledgedCounter: @unchecked Sendable {
    // @unchecked Sendable: the lock guards the one field.
    private let lock = NSLock()
    private var current = 0
    var value: Int { lock.withLock { current } }
    func set(_ value: Int) { lock.withLock { current = value } }
}
