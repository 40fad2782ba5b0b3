import GreyRaft
@testable import GreyRaftSim
import Testing

/// The simulation's bank workload (issue 14): Txn transfers on mod revisions, audits that must
/// add up and never go back in time, and a store whose revisions survive a snapshot.
@Suite("Bank workload in the simulation")
struct BankCheckTests {
    static func audit(_ balances: [Int], revision: Int = 1) -> KVResult {
        .audited(balances: balances, modRevisions: balances.map { _ in revision }, revision: revision)
    }

    @Test("an audit whose balances do not add up to the total is named; balanced ones pass")
    func totals() {
        #expect(BankCheck.wrongTotal([("a", Self.audit([100, 100, 100])), ("b", Self.audit([0, 250, 50]))]) == nil)
        let wrong = BankCheck.wrongTotal([("a", Self.audit([100, 100, 100])), ("audit #7", Self.audit([110, 100, 100], revision: 4))])
        #expect(wrong == "audit #7 at revision 4 has balances [110, 100, 100], total 310, not 300")
    }

    @Test("an audit begun after another finished may not see an older revision; overlapping ones may")
    func revisionsInRealTimeOrder() {
        let first = BankCheck.TimedAudit(id: 1, invokedAt: 0, completedAt: 10, revision: 5)
        let stale = BankCheck.TimedAudit(id: 2, invokedAt: 20, completedAt: 30, revision: 4)
        let overlapping = BankCheck.TimedAudit(id: 3, invokedAt: 5, completedAt: 30, revision: 4)
        let later = BankCheck.TimedAudit(id: 4, invokedAt: 40, completedAt: 50, revision: 5)
        #expect(BankCheck.revisionWentBack([first, overlapping, later]) == nil)
        #expect(BankCheck.revisionWentBack([later, stale, first])?.hasPrefix("audit #2 began at t=20ms and saw revision 4, but audit #1") == true)
    }

    @Test("a transfer applies only while both mod revisions are the ones seen; a snapshot's image carries the revisions")
    func transfersAndSnapshots() {
        var machine = KVStateMachine()
        func apply(_ index: UInt64, _ operation: KVOperation) -> KVResult? {
            machine.apply(LogEntry(term: 1, index: LogIndex(index), payload: .command(KVCommand.encode(id: index, operation))))?.result
        }
        #expect(apply(1, .transfer(from: "acct0", to: "acct1", newFrom: 70, newTo: 130, seen: [0, 0])) == .transferred(succeeded: true))
        #expect(machine.revision == 1 && machine.modRevisions["acct0"] == 1)
        // A second client's transfer planned from the same audit: its compare fails, nothing changes.
        #expect(apply(2, .transfer(from: "acct0", to: "acct2", newFrom: 0, newTo: 200, seen: [0, 0])) == .transferred(succeeded: false))
        #expect(machine.audit() == .audited(balances: [70, 130, 100], modRevisions: [1, 1, 0], revision: 1))
        #expect(apply(3, .put(key: "k0", value: "x")) == .written)
        #expect(machine.revision == 2)
        var restored = KVStateMachine()
        restored.restore(image: SnapshotCodec.decode(SnapshotCodec.encode(machine.image)), appliedIndex: 3)
        #expect(restored == machine)
    }

    @Test("a run keeps the bank under faults; a store that ignores the compares is caught by the total")
    func simulatedBank() {
        let report = Simulation(options: .sweep(seed: 5)).run()
        #expect(report.passed, "\(report)")
        #expect(report.transfers > 10 && report.audits > 50, "\(report)")
        var broken = SimulationOptions.sweep(seed: 5)
        broken.breakOnPurpose("txn-without-compare")
        let caught = Simulation(options: broken).run()
        #expect(caught.kinds == [.bankTotal], "\(caught)")
    }
}
