import GreyRaft
import NIOConcurrencyHelpers

/// Reads arriving from the client loops, gathered under a lock until the node's loop takes
/// them all in one job. A thousand reads arriving together cost the node's loop one job, not a
/// thousand turns through its queue — turns that put the replies to its heartbeats so far
/// back that a leader under a flood of reads lost its quorum. Once registered, they wait for
/// one ReadIndex round together, as before.
final class ReadArrivals: Sendable {
    typealias Waiter = (lease: Bool, continuation: CheckedContinuation<LogIndex, Error>)

    private let state = NIOLockedValueBox(State())

    private struct State {
        var waiting: [Waiter] = []
        var collectionScheduled = false
    }

    /// Adds a read. True when no collection is scheduled yet: the caller schedules one.
    func add(_ waiter: Waiter) -> Bool {
        state.withLockedValue { state in
            state.waiting.append(waiter)
            guard !state.collectionScheduled else { return false }
            state.collectionScheduled = true
            return true
        }
    }

    /// Every read added since the last collection; the next `add` schedules a new one.
    func takeAll() -> [Waiter] {
        state.withLockedValue { state in
            defer {
                state.waiting = []
                state.collectionScheduled = false
            }
            return state.waiting
        }
    }
}
