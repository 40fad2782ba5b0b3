/// One client operation as a linearizability checker sees it.
public struct HistoryOperation: Sendable {
    public var id: UInt64
    public var client: Int
    public var operation: KVOperation
    public var invokedAt: Int
    /// When the client learned the outcome; nil when it never did (timeout, crash).
    public var completedAt: Int?
    /// The outcome, when known.
    public var result: KVResult?

    public init(id: UInt64, client: Int, operation: KVOperation, invokedAt: Int, completedAt: Int?, result: KVResult?) {
        self.id = id
        self.client = client
        self.operation = operation
        self.invokedAt = invokedAt
        self.completedAt = completedAt
        self.result = result
    }
}

/// Checks a history for linearizability against the key-value model, one key at a time
/// (linearizability is compositional, Herlihy & Wing §3.3), with the Wing–Gong–Lowe search
/// and a cache of visited (linearized set, state) pairs, as in Porcupine.
///
/// An operation with no known outcome may take effect at any point after its invocation, or
/// never: it gets a return event after every other, accepts any result, and is left out
/// where it would change nothing.
///
/// Reductions keep the search from doubling with every such operation when no order exists
/// (a chaos run's kills and partitions leave dozens): a written value that no operation ever
/// observes is replaced by one placeholder; among operations of unknown outcome that then look
/// alike, only the earliest-invoked ones are ever chosen; and a swap whose expected value is
/// gone for good counts the same placed or not (see `ReducedHistory`).
public enum LinearizabilityChecker {
    /// Search steps allowed per key by default. Linearizable histories finish far below it
    /// (the cache keeps the search near-linear); a non-linearizable one may backtrack
    /// exponentially, and running out of budget is never taken for a pass.
    public static let defaultStepBudget = 5_000_000

    /// A key whose operations have no valid order, or for which none was found in budget.
    public struct Failure: Sendable {
        public var key: String
        /// The key's operations, by invocation time.
        public var operations: [HistoryOperation]
        /// The search ran out of steps before proving that no order exists.
        public var undecided: Bool
    }

    enum Verdict { case linearizable, notLinearizable, undecided }

    /// The first key (by name) proven not linearizable, else the first left undecided, else nil.
    public static func check(_ history: [HistoryOperation], stepBudget: Int = defaultStepBudget) -> Failure? {
        let byKey = Dictionary(grouping: history, by: { $0.operation.key })
        var undecided: Failure?
        for key in byKey.keys.sorted() {
            let operations = byKey[key]!.sorted { $0.invokedAt < $1.invokedAt }
            switch verdict(operations, stepBudget: stepBudget) {
            case .linearizable: continue
            case .notLinearizable: return Failure(key: key, operations: operations, undecided: false)
            case .undecided: undecided = undecided ?? Failure(key: key, operations: operations, undecided: true)
            }
        }
        return undecided
    }

    /// The earliest invocation time by which the operations already cannot be linearized:
    /// operations invoked later are dropped and outcomes learned later count as unknown.
    /// Narrows a failure report to the moment things went wrong.
    /// A prefix left undecided counts as failed.
    public static func earliestFailure(_ operations: [HistoryOperation], stepBudget: Int = defaultStepBudget) -> Int {
        let times = Array(Set(operations.map(\.invokedAt))).sorted()
        var low = 0
        var high = times.count - 1
        while low < high {
            let middle = (low + high) / 2
            let cutoff = times[middle]
            let prefix = operations.filter { $0.invokedAt <= cutoff }.map { operation -> HistoryOperation in
                var truncated = operation
                if let completed = operation.completedAt, completed > cutoff {
                    truncated.completedAt = nil
                    truncated.result = nil
                }
                return truncated
            }
            if verdict(prefix, stepBudget: stepBudget) == .linearizable { low = middle + 1 } else { high = middle }
        }
        return times[low]
    }

    private struct Event {
        var operation: Int
        var isCall: Bool
        var time: Int
    }

    static func verdict(_ history: [HistoryOperation], stepBudget: Int) -> Verdict {
        let reduced = ReducedHistory(history)
        let operations = reduced.operations
        guard !operations.isEmpty else { return .linearizable }
        let never = Int.max
        var events: [Event] = []
        for (index, operation) in operations.enumerated() {
            events.append(Event(operation: index, isCall: true, time: operation.invokedAt))
            events.append(Event(operation: index, isCall: false, time: operation.completedAt ?? never))
        }
        // Calls before returns at equal times: the more concurrency assumed, the fewer false alarms.
        events.sort { ($0.time, $0.isCall ? 0 : 1, $0.operation) < ($1.time, $1.isCall ? 0 : 1, $1.operation) }
        // A doubly linked list over the events, from which linearized operations are lifted.
        let count = events.count
        var next = Array(1...count)  // index count = end
        var previous = Array(-1..<(count - 1))
        var callPosition = [Int](repeating: 0, count: operations.count)
        var returnPosition = [Int](repeating: 0, count: operations.count)
        for (position, event) in events.enumerated() {
            if event.isCall { callPosition[event.operation] = position } else { returnPosition[event.operation] = position }
        }
        var head = 0
        func lift(_ operation: Int) {
            for position in [callPosition[operation], returnPosition[operation]] {
                if previous[position] >= 0 { next[previous[position]] = next[position] } else { head = next[position] }
                if next[position] < count { previous[next[position]] = previous[position] }
            }
        }
        func unlift(_ operation: Int) {
            for position in [returnPosition[operation], callPosition[operation]] {
                if previous[position] >= 0 { next[previous[position]] = position } else { head = position }
                if next[position] < count { previous[next[position]] = position }
            }
        }
        var state: [String: String] = [:]
        var linearized = [UInt64](repeating: 0, count: (operations.count + 63) / 64)
        var visited = Set<CacheKey>()
        var stack: [(operation: Int, state: [String: String])] = []
        var position = head
        var steps = 0
        while head < count {
            steps += 1
            if steps > stepBudget { return .undecided }
            let event = events[position]
            if event.isCall {
                let operation = operations[event.operation]
                var candidate = state
                let outcome = KVStateMachine.execute(operation.operation, on: &candidate)
                var accepted = operation.result == nil || operation.result == outcome
                if operation.completedAt == nil && candidate == state {
                    // Taking effect as a no-op is the same as never taking effect (see below).
                    accepted = false
                }
                if let earlier = reduced.predecessor[event.operation],
                   linearized[earlier / 64] & (1 << UInt64(earlier % 64)) == 0 {
                    accepted = false  // its earlier twin goes first (see `ReducedHistory`)
                }
                if accepted {
                    linearized[event.operation / 64] |= 1 << UInt64(event.operation % 64)
                    if visited.insert(reduced.cacheKey(linearized, candidate)).inserted {
                        stack.append((event.operation, state))
                        state = candidate
                        lift(event.operation)
                        position = head
                        continue
                    }
                    linearized[event.operation / 64] &= ~(1 << UInt64(event.operation % 64))
                }
                position = next[position]
            } else if event.time == never {
                // Only operations of unknown outcome are left, none of them needed: they never
                // took effect. (Every operation that completed returned earlier, so is placed.)
                return .linearizable
            } else {
                // A return reached with its operation not linearized: undo the last choice.
                guard let last = stack.popLast() else { return .notLinearizable }
                state = last.state
                linearized[last.operation / 64] &= ~(1 << UInt64(last.operation % 64))
                unlift(last.operation)
                position = next[callPosition[last.operation]]
            }
        }
        return .linearizable
    }

    /// The history as the search sees it, with what cannot change the answer taken out.
    ///
    /// Values are unique per write, so a value matters only where some operation observes it:
    /// a read or a failed swap returning it, or a swap expecting it. A value nobody observes
    /// becomes one placeholder, and states that differ only in such values become one state
    /// for the cache. Then operations of unknown outcome with the same (rewritten) operation
    /// are interchangeable but for their invocation times, and neither has a deadline: any
    /// order that linearizes some of them can use the earliest-invoked instead (the i-th one
    /// placed had i of them invoked by then). So one may be chosen only once its earlier twin
    /// has been — k choices among n instead of 2^n subsets. And a swap of unknown outcome whose
    /// expected value is gone for good is the same placed or not, so the cache treats it so.
    struct ReducedHistory {
        var operations: [HistoryOperation]
        /// For an operation of unknown outcome, its earlier-invoked twin, if any.
        var predecessor: [Int?]
        /// Swaps of unknown outcome expecting a value: once every write of that value is placed
        /// and the key holds something else, the value never returns, and the swap can only be a
        /// no-op — placed or not, what follows is the same.
        var expiringSwaps: [(operation: Int, key: String, expected: String, writers: [Int])] = []

        init(_ history: [HistoryOperation]) {
            var observed = Set<String>()
            var written = Set<String>()
            for operation in history {
                switch operation.operation {
                case .put(_, let value): written.insert(value)
                case .cas(_, let expected, let new):
                    written.insert(new)
                    if let expected { observed.insert(expected) }
                default: break
                }
                switch operation.result {
                case .value(let value?), .swapped(_, let value?): observed.insert(value)
                default: break
                }
            }
            var placeholder = "\u{0}unobserved"
            while written.contains(placeholder) || observed.contains(placeholder) { placeholder += "'" }
            // A read with no known outcome, or a stale one (which may return any past value),
            // neither changes the state nor constrains it: leaving it out changes no answer.
            let constraining = history.filter { operation in
                guard case .get(_, let level) = operation.operation else { return true }
                return operation.result != nil && level != .stale
            }
            operations = constraining.map { operation in
                var rewritten = operation
                switch operation.operation {
                case .put(let key, let value) where !observed.contains(value):
                    rewritten.operation = .put(key: key, value: placeholder)
                case .cas(let key, let expected, let new) where !observed.contains(new):
                    rewritten.operation = .cas(key: key, expected: expected, new: placeholder)
                default: break
                }
                return rewritten
            }
            predecessor = Array(repeating: nil, count: operations.count)
            var latest: [KVOperation: Int] = [:]
            for index in operations.indices.sorted(by: { operations[$0].invokedAt < operations[$1].invokedAt })
            where operations[index].completedAt == nil && operations[index].operation.isWrite {
                predecessor[index] = latest[operations[index].operation]
                latest[operations[index].operation] = index
            }
            var writers: [String: [Int]] = [:]
            for (index, operation) in operations.enumerated() {
                switch operation.operation {
                case .put(_, let value), .cas(_, _, let value): writers[value, default: []].append(index)
                default: break
                }
            }
            expiringSwaps = operations.indices.compactMap { index in
                guard operations[index].completedAt == nil, case .cas(let key, let expected?, _) = operations[index].operation else { return nil }
                return (index, key, expected, writers[expected] ?? [])
            }
        }

        /// The search's cache key: which operations are placed and the state, counting expired
        /// swaps as placed, so that orders differing only in them meet in the cache.
        func cacheKey(_ linearized: [UInt64], _ state: [String: String]) -> CacheKey {
            var placed = linearized
            func isPlaced(_ operation: Int) -> Bool { linearized[operation / 64] & (1 << UInt64(operation % 64)) != 0 }
            for swap in expiringSwaps where state[swap.key] != swap.expected && swap.writers.allSatisfy(isPlaced) {
                placed[swap.operation / 64] |= 1 << UInt64(swap.operation % 64)
            }
            return CacheKey(linearized: placed, state: state)
        }
    }

    struct CacheKey: Hashable {
        var linearized: [UInt64]
        var state: [String: String]
    }
}
