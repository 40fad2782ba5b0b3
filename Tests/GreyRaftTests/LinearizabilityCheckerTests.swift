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

    @Test("keys are checked independently")
    func perKey() {
        let history = [
            Self.op(1, .put(key: "x", value: "1"), 0, 10, .written),
            Self.op(2, .get(key: "y", consistency: .linearizable), 20, 30, .value(nil)),
        ]
        #expect(LinearizabilityChecker.check(history) == nil)
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
