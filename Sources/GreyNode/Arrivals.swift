import NIOConcurrencyHelpers

/// Requests arriving from the client loops — reads waiting for leadership to be confirmed,
/// writes to propose — gathered under a lock until the node's loop takes them all in one job.
/// A thousand arriving together cost the node's loop one job, not a thousand turns through
/// its queue, each a thread switch when the loop was asleep: for reads, turns that put the
/// replies to its heartbeats so far back that a leader under a flood of reads lost its
/// quorum; for writes, a wake-up of the loop per Put, and a Ready per Put where one carries
/// all those that arrived together.
final class Arrivals<Item: Sendable>: Sendable {
    private let state = NIOLockedValueBox(State())

    private struct State {
        var waiting: [Item] = []
        var collectionScheduled = false
    }

    /// Adds an item. True when no collection is scheduled yet: the caller schedules one.
    func add(_ item: Item) -> Bool {
        state.withLockedValue { state in
            state.waiting.append(item)
            guard !state.collectionScheduled else { return false }
            state.collectionScheduled = true
            return true
        }
    }

    /// Every item added since the last collection; the next `add` schedules a new one.
    func takeAll() -> [Item] {
        state.withLockedValue { state in
            defer {
                state.waiting = []
                state.collectionScheduled = false
            }
            return state.waiting
        }
    }
}
