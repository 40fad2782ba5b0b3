import Foundation
import GreyMVCC
import NIOCore

/// Driving `MVCCStore.compactStep`: after a Compact applies (or at start, or after a snapshot
/// install, when one may be left half done), one bounded step per turn of the node's loop, so
/// heartbeats, appends and client calls run between the steps of a long removal.
extension GreyNode {
    /// Queues a step `storeCompactionPause` from now, unless one is queued already. Not
    /// `execute`: the loop runs the jobs queued while it runs jobs before it reads its sockets
    /// again, so a chain of steps queued that way would starve everything else (a 2.6 s stall
    /// measured for 200,000 versions); a timer lets the loop poll its sockets between steps.
    func scheduleStoreCompaction() {
        guard !storeCompactionScheduled, !halted else { return }
        storeCompactionScheduled = true
        eventLoop.scheduleTask(in: Self.storeCompactionPause) { self.assumeIsolated { $0.storeCompactionStep() } }
    }

    /// One step; queues the next if more remains. On the loop, as applies are: a step and an
    /// apply must not run at once. Not during a snapshot install: `install` schedules again.
    private func storeCompactionStep() {
        storeCompactionScheduled = false
        guard !halted, !installingSnapshot else { return }
        do {
            let started = storeCompactionStarted ?? ContinuousClock.now
            storeCompactionStarted = started
            storeCompactionSteps += 1
            if try store.compactStep(budget: Self.storeCompactionBudget) {
                scheduleStoreCompaction()
            } else {
                log("compaction: removed what it made unreachable in \(storeCompactionSteps) steps of \(Self.storeCompactionBudget), \(Self.seconds(ContinuousClock.now - started))")
                storeCompactionStarted = nil
                storeCompactionSteps = 0
            }
        } catch {
            storageFailed("remove what a compaction made unreachable", error)
        }
    }

    private static func seconds(_ duration: Duration) -> String {
        let (whole, fraction) = duration.components
        return String(format: "%.2f s", Double(whole) + Double(fraction) / 1e18)
    }

    /// Versions or history entries a step looks at: a few milliseconds of work.
    static let storeCompactionBudget = 500
    /// The pause between steps: the removal takes at most about a third of the loop, so the
    /// writes beside it keep their latency (bench/compaction-stall.sh; etcd pauses 10 ms
    /// between batches of 1,000).
    static let storeCompactionPause = TimeAmount.milliseconds(5)

    /// Waits until the due compaction's removals are done (etcd's `physical` compaction), or
    /// the caller's deadline: checked between steps, every 10 ms.
    func awaitStoreCompaction() async throws {
        while try store.compactionIsDue() {
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}
