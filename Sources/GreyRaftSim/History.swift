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
/// never: it gets a return event after every other and accepts any result.
public enum LinearizabilityChecker {
    /// Search steps allowed per key. Linearizable histories finish far below it (the cache
    /// keeps the search near-linear); a non-linearizable one may backtrack exponentially,
    /// so running out of budget is reported as a failure to linearize, never as a pass.
    nonisolated(unsafe) public static var stepBudget = 5_000_000
    /// Whether the last failed check ran out of budget rather than proving no order exists.
    nonisolated(unsafe) public static var exhaustedBudget = false

    /// The first key whose operations cannot be linearized, with them, or nil if all can.
    public static func check(_ history: [HistoryOperation]) -> (key: String, operations: [HistoryOperation])? {
        let byKey = Dictionary(grouping: history, by: { $0.operation.key })
        for key in byKey.keys.sorted() {
            let operations = byKey[key]!.sorted { $0.invokedAt < $1.invokedAt }
            if !isLinearizable(operations) { return (key, operations) }
        }
        return nil
    }

    /// The earliest invocation time by which the operations already cannot be linearized:
    /// operations invoked later are dropped and outcomes learned later count as unknown.
    /// Narrows a failure report to the moment things went wrong.
    public static func earliestFailure(_ operations: [HistoryOperation]) -> Int {
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
            if isLinearizable(prefix) { low = middle + 1 } else { high = middle }
        }
        return times[low]
    }

    private struct Event {
        var operation: Int
        var isCall: Bool
        var time: Int
    }

    static func isLinearizable(_ operations: [HistoryOperation]) -> Bool {
        exhaustedBudget = false
        guard !operations.isEmpty else { return true }
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
            if steps > stepBudget {
                exhaustedBudget = true
                return false
            }
            let event = events[position]
            if event.isCall {
                let operation = operations[event.operation]
                var candidate = state
                let outcome = KVStateMachine.execute(operation.operation, on: &candidate)
                var accepted = operation.result == nil || operation.result == outcome
                if case .get(_, .stale) = operation.operation { accepted = true }
                if accepted {
                    linearized[event.operation / 64] |= 1 << UInt64(event.operation % 64)
                    if visited.insert(CacheKey(linearized: linearized, state: candidate)).inserted {
                        stack.append((event.operation, state))
                        state = candidate
                        lift(event.operation)
                        position = head
                        continue
                    }
                    linearized[event.operation / 64] &= ~(1 << UInt64(event.operation % 64))
                }
                position = next[position]
            } else {
                // A return reached with its operation not linearized: undo the last choice.
                guard let last = stack.popLast() else { return false }
                state = last.state
                linearized[last.operation / 64] &= ~(1 << UInt64(last.operation % 64))
                unlift(last.operation)
                position = next[callPosition[last.operation]]
            }
        }
        return true
    }

    private struct CacheKey: Hashable {
        var linearized: [UInt64]
        var state: [String: String]
    }
}
