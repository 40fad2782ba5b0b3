/// The bank workload's two checks, on what its audits returned: money is neither made nor
/// lost (every audit adds up to `Bank.total`), and reads never go back in time (an audit that
/// began after another had finished saw at least that one's revision — a leader serving a
/// read it could not confirm shows here as an older revision).
public enum BankCheck {
    /// A linearizable or lease audit, with when it ran.
    public struct TimedAudit: Sendable {
        public var id: UInt64
        public var invokedAt: Int
        public var completedAt: Int
        public var revision: Int

        public init(id: UInt64, invokedAt: Int, completedAt: Int, revision: Int) {
            self.id = id
            self.invokedAt = invokedAt
            self.completedAt = completedAt
            self.revision = revision
        }
    }

    /// The first audit (named, with its result) whose balances do not add up to the total.
    public static func wrongTotal(_ audits: [(name: String, result: KVResult)]) -> String? {
        for (name, result) in audits {
            guard case let .audited(balances, _, revision) = result else { continue }
            let total = balances.reduce(0, +)
            if total != Bank.total { return "\(name) at revision \(revision) has balances \(balances), total \(total), not \(Bank.total)" }
        }
        return nil
    }

    /// The first audit that saw an older revision than one finished before it was invoked.
    public static func revisionWentBack(_ audits: [TimedAudit]) -> String? {
        let byCompletion = audits.sorted { ($0.completedAt, $0.id) < ($1.completedAt, $1.id) }
        var finished = 0
        var newest: TimedAudit? = nil
        for audit in audits.sorted(by: { ($0.invokedAt, $0.id) < ($1.invokedAt, $1.id) }) {
            while finished < byCompletion.count, byCompletion[finished].completedAt < audit.invokedAt {
                if byCompletion[finished].revision > newest?.revision ?? Int.min { newest = byCompletion[finished] }
                finished += 1
            }
            if let newest, audit.revision < newest.revision {
                return "audit #\(audit.id) began at t=\(audit.invokedAt)ms and saw revision \(audit.revision), but audit #\(newest.id) had finished at t=\(newest.completedAt)ms having seen \(newest.revision)"
            }
        }
        return nil
    }
}
