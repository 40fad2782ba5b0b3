import GreyRaft
import GreyRaftSim
import Testing

@Suite("Linearizability checker")
struct LinearizabilityCheckerTests {
    static func op(_ id: UInt64, _ operation: KVOperation, _ invoked: Int, _ completed: Int?, _ result: KVResult?) -> HistoryOperation {
        HistoryOperation(id: id, client: Int(id), operation: operation, invokedAt: invoked, completedAt: completed, result: result)
    }

    @Test("a read after a completed write must see it")
    func staleReadIsCaught() {
        let history = [
            Self.op(1, .put(key: "k", value: "a"), 0, 10, .written),
            Self.op(2, .get(key: "k", consistency: .linearizable), 20, 30, .value(nil)),
        ]
        #expect(LinearizabilityChecker.check(history)?.key == "k")
        let fresh = [history[0], Self.op(2, .get(key: "k", consistency: .linearizable), 20, 30, .value("a"))]
        #expect(LinearizabilityChecker.check(fresh) == nil)
    }

    @Test("a read concurrent with a write may see either value")
    func concurrency() {
        for seen: String? in [nil, "a"] {
            let history = [
                Self.op(1, .put(key: "k", value: "a"), 0, 30, .written),
                Self.op(2, .get(key: "k", consistency: .linearizable), 10, 20, .value(seen)),
            ]
            #expect(LinearizabilityChecker.check(history) == nil)
        }
    }

    @Test("a write with unknown outcome may have happened, but not un-happen")
    func indeterminateWrite() {
        let put = Self.op(1, .put(key: "k", value: "a"), 0, nil, nil)
        let sawIt = Self.op(2, .get(key: "k", consistency: .linearizable), 50, 60, .value("a"))
        #expect(LinearizabilityChecker.check([put, sawIt]) == nil)
        #expect(LinearizabilityChecker.check([put, Self.op(3, .get(key: "k", consistency: .linearizable), 70, 80, .value(nil))]) == nil)
        let flipFlop = [put, sawIt, Self.op(3, .get(key: "k", consistency: .linearizable), 70, 80, .value(nil))]
        #expect(LinearizabilityChecker.check(flipFlop) != nil)
    }

    @Test("compare-and-swap and delete follow the model")
    func casAndDelete() {
        let good = [
            Self.op(1, .cas(key: "k", expected: nil, new: "a"), 0, 5, .swapped(succeeded: true, current: nil)),
            Self.op(2, .cas(key: "k", expected: "b", new: "c"), 10, 15, .swapped(succeeded: false, current: "a")),
            Self.op(3, .delete(key: "k"), 20, 25, .deleted(existed: true)),
            Self.op(4, .delete(key: "k"), 30, 35, .deleted(existed: false)),
        ]
        #expect(LinearizabilityChecker.check(good) == nil)
        var doubleSwap = good
        doubleSwap[1] = Self.op(2, .cas(key: "k", expected: nil, new: "c"), 10, 15, .swapped(succeeded: true, current: nil))
        #expect(LinearizabilityChecker.check(doubleSwap) != nil)
    }

    @Test("writes of unknown outcome that look alike each still count")
    func twinsOfUnknownOutcome() {
        let history = [
            Self.op(1, .put(key: "k", value: "a"), 0, 5, .written),
            Self.op(2, .delete(key: "k"), 10, nil, nil),
            Self.op(3, .delete(key: "k"), 11, nil, nil),
            Self.op(4, .get(key: "k", consistency: .linearizable), 20, 25, .value(nil)),
            Self.op(5, .put(key: "k", value: "b"), 30, 35, .written),
            Self.op(6, .get(key: "k", consistency: .linearizable), 40, 45, .value(nil)),
        ]
        // Both deletes are needed: one before the first read, one after "b".
        #expect(LinearizabilityChecker.check(history) == nil)
        #expect(LinearizabilityChecker.check(history.filter { $0.id != 3 }) != nil)
    }

    @Test("a value nobody reads still makes the key present")
    func unobservedValue() {
        let put = Self.op(1, .put(key: "k", value: "x"), 0, nil, nil)
        let delete = Self.op(2, .delete(key: "k"), 10, 20, .deleted(existed: true))
        #expect(LinearizabilityChecker.check([put, delete]) == nil)
        #expect(LinearizabilityChecker.check([delete]) != nil)
    }

    @Test("dozens of writes of unknown outcome do not stop the search from proving there is no order")
    func manyUnknownOutcomes() {
        var history = [Self.op(0, .put(key: "k", value: "v0"), 0, 1, .written)]
        for number in 1...40 {
            let operation: KVOperation = number % 4 == 0 ? .delete(key: "k") : .put(key: "k", value: "lost\(number)")
            history.append(Self.op(UInt64(number), operation, 10 + number, nil, nil))
        }
        for number in 0..<20 {
            history.append(Self.op(UInt64(100 + number), .get(key: "k", consistency: .linearizable), 100 + 10 * number, 105 + 10 * number, .value("v0")))
        }
        history.append(Self.op(200, .get(key: "k", consistency: .linearizable), 1_000, 1_010, .value("never written")))
        // 2^40 subsets of the unknown writes without the symmetry reductions; a few hundred with.
        let failure = LinearizabilityChecker.check(history, stepBudget: 1_000_000)
        #expect(failure?.key == "k")
        #expect(failure?.undecided == false)
        #expect(LinearizabilityChecker.check(Array(history.dropLast()), stepBudget: 1_000_000) == nil)
    }

    @Test("swaps of unknown outcome whose expected value is long gone do not blow up the search")
    func deadSwaps() {
        var history: [HistoryOperation] = []
        for number in 1...40 {
            // Each swap could only have hit while "w<number>" was there; later it changes nothing.
            history.append(Self.op(UInt64(number), .put(key: "k", value: "w\(number)"), 10 * number, 10 * number + 5, .written))
            history.append(Self.op(UInt64(100 + number), .cas(key: "k", expected: "w\(number)", new: "s\(number)"), 10 * number + 6, nil, nil))
        }
        history.append(Self.op(200, .get(key: "k", consistency: .linearizable), 1_000, 1_010, .value("never written")))
        let failure = LinearizabilityChecker.check(history, stepBudget: 1_000_000)
        #expect(failure?.key == "k")
        #expect(failure?.undecided == false)
        var fine = history
        fine[fine.count - 1] = Self.op(200, .get(key: "k", consistency: .linearizable), 1_000, 1_010, .value("w40"))
        #expect(LinearizabilityChecker.check(fine, stepBudget: 1_000_000) == nil)
    }

    @Test("agrees with trying every order on thousands of small random histories")
    func agreesWithBruteForce() {
        var generator = SeededRandom(seed: 7)
        var verdicts = (linearizable: 0, not: 0)
        var disagreements: [String] = []
        for round in 0..<3_000 {
            let history = RandomHistory.make(&generator)
            let expected = RandomHistory.bruteForceLinearizable(history)
            if (LinearizabilityChecker.check(history) == nil) != expected {
                disagreements.append("round \(round) (brute force: \(expected ? "linearizable" : "not")): \(history)")
            }
            if expected { verdicts.linearizable += 1 } else { verdicts.not += 1 }
        }
        #expect(disagreements.isEmpty, "\(disagreements.count) disagreements; the first: \(disagreements.first ?? "")")
        // Both answers are well represented, so the agreement means something.
        #expect(verdicts.linearizable > 500 && verdicts.not > 500, "\(verdicts)")
    }

    @Test("keys are checked independently")
    func perKey() {
        let history = [
            Self.op(1, .put(key: "x", value: "1"), 0, 10, .written),
            Self.op(2, .get(key: "y", consistency: .linearizable), 20, 30, .value(nil)),
        ]
        #expect(LinearizabilityChecker.check(history) == nil)
    }
}

/// Small random histories on one key, made by running operations against the model at random
/// points within their intervals and then, sometimes, lying about a result or losing it.
enum RandomHistory {
    static func make(_ generator: inout SeededRandom) -> [HistoryOperation] {
        let count = 2 + Int(generator.next() % 6)
        var values: [String] = []
        var state: String?
        var timed: [(point: Int, operation: HistoryOperation)] = []
        for id in 0..<count {
            let invoked = Int(generator.next() % 40)
            let completed = invoked + 1 + Int(generator.next() % 15)
            let point = invoked + Int(generator.next() % UInt64(completed - invoked))
            let value = "v\(id)"
            let pick = generator.next() % 8
            let operation: KVOperation
            switch pick {
            case 0, 1: operation = .put(key: "k", value: value)
            case 2: operation = .delete(key: "k")
            case 3: operation = .cas(key: "k", expected: values.randomElement(using: &generator), new: value)
            case 4: operation = .get(key: "k", consistency: .stale)
            default: operation = .get(key: "k", consistency: .linearizable)
            }
            values.append(value)
            let history = HistoryOperation(id: UInt64(id), client: id, operation: operation, invokedAt: invoked, completedAt: completed, result: nil)
            timed.append((point, history))
        }
        var operations: [HistoryOperation] = []
        for (_, operation) in timed.sorted(by: { $0.point < $1.point }) {
            var recorded = operation
            let unknown = generator.next() % 5 == 0
            let tookEffect = !unknown || generator.next() % 2 == 0
            var result = tookEffect ? apply(operation.operation, to: &state) : nil
            if !unknown && generator.next() % 4 == 0 {
                var invented = [nil, "v0", "v1", "v2"].randomElement(using: &generator)!
                result = apply(operation.operation, to: &invented)
            }
            if unknown {
                recorded.completedAt = nil
                result = nil
            }
            recorded.result = result
            operations.append(recorded)
        }
        return operations.sorted { $0.id < $1.id }
    }

    static func apply(_ operation: KVOperation, to state: inout String?) -> KVResult {
        switch operation {
        case .put(_, let value):
            state = value
            return .written
        case .get: return .value(state)
        case .delete:
            defer { state = nil }
            return .deleted(existed: state != nil)
        case .cas(_, let expected, let new):
            guard state == expected else { return .swapped(succeeded: false, current: state) }
            defer { state = new }
            return .swapped(succeeded: true, current: state)
        case .transfer, .audit:
            preconditionFailure("the single-key histories here hold no bank operations")
        }
    }

    /// Every order that keeps real time, with every operation of unknown outcome in or out.
    static func bruteForceLinearizable(_ history: [HistoryOperation]) -> Bool {
        func mustPrecede(_ first: HistoryOperation, _ second: HistoryOperation) -> Bool {
            guard let completed = first.completedAt else { return false }
            return completed < second.invokedAt
        }
        func search(_ remaining: [HistoryOperation], _ state: String?) -> Bool {
            if remaining.allSatisfy({ $0.completedAt == nil }) { return true }
            for (index, candidate) in remaining.enumerated()
            where !remaining.contains(where: { $0.id != candidate.id && mustPrecede($0, candidate) }) {
                var rest = remaining
                rest.remove(at: index)
                var next = state
                let result = apply(candidate.operation, to: &next)
                var accepted = candidate.result == nil || candidate.result == result
                if case .get(_, .stale) = candidate.operation { accepted = true }
                if accepted && search(rest, next) { return true }
                // An operation of unknown outcome may also never take effect.
                if candidate.completedAt == nil && search(rest, state) { return true }
            }
            return false
        }
        return search(history, nil)
    }
}

@Suite("Whole-cluster simulation (a few seeds; make test and make sim run hundreds)")
struct SimulationSmokeTests {
    @Test("mixed faults on 3, 5 and 7 nodes leave every history linearizable", arguments: [UInt64(1), 2, 3, 4])
    func sweep(seed: UInt64) {
        let report = Simulation(options: .sweep(seed: seed)).run()
        #expect(report.passed, "\(report) — replay: GREY_SEED=\(seed) make sim")
        #expect(report.acknowledgedWrites > 50 && report.completedReads > 50, "\(report)")
    }

    @Test("the same seed replays the same run")
    func deterministic() {
        let first = Simulation(options: .hostile(seed: 42)).run()
        let second = Simulation(options: .hostile(seed: 42)).run()
        #expect(first.description == second.description)
        #expect(first.events == second.events)
    }
}
