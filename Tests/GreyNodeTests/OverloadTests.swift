import Foundation
import GreyLocalCluster
import GreyRPC
import GreyRaft
import GreyWire
import Testing

/// Limits under overload, on real nodes in this process (GreyLocalCluster).
@Suite("Overload")
struct OverloadTests {
    @Test("writes beyond the pending limit are refused at once with RESOURCE_EXHAUSTED, not queued; the node serves again after")
    func pendingWritesAreBounded() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("grey-overload-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A long election timeout keeps the cut-off leader leading while the test fills it.
        let cluster = LocalCluster(directory: directory, electionTimeout: .seconds(3), maxPendingRequests: 8)
        try await cluster.start(size: 3)
        // A first write through the leader (its no-op committed, connections up). On a loaded
        // machine that can take seconds, and the leader can change meanwhile: retry, bounded.
        var warmLeader: NodeID? = nil
        for _ in 0..<6 where warmLeader == nil {
            guard let candidate = await cluster.awaitLeader(within: .seconds(20)) else { continue }
            if (try? await cluster.put("warm", "up", via: candidate, timeout: .seconds(5))) != nil { warmLeader = candidate }
        }
        let leader = try #require(warmLeader, "no leader took a write within six tries")

        // Cut the leader off: nothing it takes can commit, so writes pile up on it.
        await cluster.partition([leader])
        let outcomes = await withTaskGroup(of: GRPCStatus.Code?.self) { group in
            for index in 0..<40 {
                group.addTask {
                    do {
                        _ = try await cluster.put("k\(index)", "v", via: leader, timeout: .seconds(2))
                        return nil
                    } catch let status as GRPCStatus {
                        return status.code
                    } catch {
                        return .unknown
                    }
                }
            }
            return await group.reduce(into: [GRPCStatus.Code?]()) { $0.append($1) }
        }
        let refused = outcomes.filter { $0 == .resourceExhausted }.count
        let waited = outcomes.filter { $0 == .deadlineExceeded }.count
        // At most 8 wait (the limit); the rest are refused at once. Which 8 got in first, and
        // whether all 8 slots were taken before the others arrived, is up to the scheduler.
        #expect(refused + waited == 40 && waited <= 8, "refused \(refused), waited out \(waited): \(outcomes)")

        await cluster.heal()
        let next = try #require(await cluster.awaitLeader(within: .seconds(20)))
        var accepted = false
        for _ in 0..<50 where !accepted {
            accepted = (try? await cluster.put("after", "heal", via: next, timeout: .seconds(2))) != nil
            if !accepted { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(accepted, "the cluster took no write after the partition healed")
        await cluster.shutdown()
    }
}
