import GreyRaft

// The Raft safety properties (Figure 3 of the paper), checked while the run goes on, and
// the client-visible ones — linearizability, no lost acknowledged write — at the end.

extension Simulation {
    func violation(_ kind: ViolationKind, _ text: String) {
        report.violations.append("t=\(now)ms \(kind.rawValue): " + text)
        report.kinds.insert(kind)
    }

    /// Looks at a node's output as it is produced.
    func observe(_ node: SimNode, _ ready: Ready) {
        guard let raft = node.raft else { return }
        if options.trace {
            for event in ready.events { print("t=\(now) \(node.id) \(event) log=\(raft.log.lastIndex)@\(raft.log.lastTerm) commit=\(raft.commitIndex)") }
        }
        for event in ready.events {
            switch event {
            case .roleChanged(.leader, _, let term):
                // Election safety: at most one leader per term.
                if let other = leaderOfTerm[term], other != node.id {
                    violation(.electionSafety, "\(other) and \(node.id) both lead \(term)")
                }
                leaderOfTerm[term] = node.id
                report.leaderTerms += 1
                checkLeaderCompleteness(raft)
            case .readFailed(let requestID, _):
                if node.readRequests.remove(requestID) != nil { fail(requestID) }
            case .removed:
                // Grey's runtime shuts a node down once it learns it was removed.
                removedNodes.insert(node.id)
            default:
                break
            }
        }
        let seen = seenCommit[node.id] ?? 0
        if raft.commitIndex > seen {
            var index = max(seen, raft.log.snapshotIndex).next
            while index <= raft.commitIndex {
                if let entry = raft.log.entry(at: index) {
                    if let earlier = committedEntries[index], earlier != entry {
                        violation(.stateMachineSafety, "\(node.id) committed \(entry) but \(earlier) was committed at \(index)")
                    }
                    committedEntries[index] = entry
                    committedInTerm[index] = min(committedInTerm[index] ?? raft.term, raft.term)
                }
                index = index.next
            }
            seenCommit[node.id] = raft.commitIndex
        }
    }

    /// Leader completeness: a leader's log holds every entry committed in an earlier term (§5.4).
    func checkLeaderCompleteness(_ raft: RaftNode) {
        for (index, entry) in committedEntries where index > raft.log.snapshotIndex && committedInTerm[index]! < raft.term {
            if raft.log.entry(at: index) != entry {
                violation(.leaderCompleteness, "\(raft.id) leads \(raft.term) without committed \(entry)")
                return
            }
        }
    }

    /// Log matching: two logs that agree on an entry's term at an index agree on everything before it.
    func checkLogMatching() {
        let logs = members.compactMap { node in node.raft.map { (node.id, $0.log) } }
        for (a, first) in logs.enumerated() {
            for (idB, logB) in logs[(a + 1)...] {
                let (idA, logA) = first
                var index = min(logA.lastIndex, logB.lastIndex)
                let floor = max(logA.snapshotIndex, logB.snapshotIndex)
                while index > floor, logA.term(at: index) != logB.term(at: index) { index = index.previous }
                while index > floor {
                    if logA.entry(at: index) != logB.entry(at: index) {
                        violation(.logMatching, "\(idA) and \(idB) differ at \(index) below a common entry")
                        return
                    }
                    index = index.previous
                }
            }
        }
    }

    /// Replicas that applied the same prefix hold the same data; no acknowledged write is missing.
    func checkFinalStates() {
        var byIndex: [LogIndex: (NodeID, [String: String])] = [:]
        for node in members where node.raft != nil {
            let machine = node.disk.machine
            // Values and revisions alike: an etcd client compares mod revisions in its Txns.
            if let (other, image) = byIndex[machine.appliedIndex], image != machine.image {
                violation(.replicaAgreement, "replicas \(other) and \(node.id) applied through \(machine.appliedIndex) but differ")
            }
            byIndex[machine.appliedIndex] = (node.id, machine.image)
        }
        var appliedOperations = Set<UInt64>()
        for entry in appliedEntries.values {
            if case .command(let bytes) = entry.payload { appliedOperations.insert(KVCommand.decode(bytes).id) }
        }
        for operation in history.values where operation.operation.isWrite && operation.completedAt != nil {
            if !appliedOperations.contains(operation.id) {
                violation(.lostWrite, "operation \(operation.id) \(operation.operation) was acknowledged but never applied")
            }
        }
    }

    func checkHistory() {
        if let failed = LinearizabilityChecker.check(history.values.filter { !$0.operation.isBank }) {
            let (key, operations) = (failed.key, failed.operations)
            let failedBy = LinearizabilityChecker.earliestFailure(operations)
            let window = operations.filter { $0.invokedAt <= failedBy && ($0.completedAt ?? Int.max) >= failedBy - 700 }
            let shown = window.suffix(60).map { operation in
                "#\(operation.id) c\(operation.client) \(operation.operation) [\(operation.invokedAt)–\(operation.completedAt.map(String.init) ?? "?")] → \(operation.result.map { "\($0)" } ?? "?")"
            }
            // A spent search budget proves nothing: it is reported, but catches no broken variant.
            violation(failed.undecided ? .undecided : .linearizability, "no valid order on key \(key): \(operations.count) operations; no order exists by t=\(failedBy)ms; around it: " + shown.joined(separator: " | "))
        }
        for read in staleReads {
            if let value = read.value, !writtenValues.contains(where: { $0.hasSuffix(":" + value) }) {
                violation(.phantomValue, "stale read #\(read.operation) returned \(value), which nobody wrote")
            }
        }
    }

    /// The bank: every audit — linearizable, lease or stale, and each replica's state at the
    /// end — adds up to the bank's total, and no audit saw an older revision than one that
    /// finished before it began.
    func checkBank() {
        var audits = staleAudits.map { ("audit #\($0.operation)", $0.result) }
        var timed: [BankCheck.TimedAudit] = []
        for operation in history.values {
            guard case .audit = operation.operation, let result = operation.result, let completed = operation.completedAt,
                case let .audited(_, _, revision) = result
            else { continue }
            audits.append(("audit #\(operation.id)", result))
            timed.append(BankCheck.TimedAudit(id: operation.id, invokedAt: operation.invokedAt, completedAt: completed, revision: revision))
        }
        report.audits = audits.count
        report.transfers = history.values.filter { $0.result == .transferred(succeeded: true) }.count
        for node in members where node.raft != nil { audits.append(("\(node.id)'s final state", node.disk.machine.audit())) }
        if let wrong = BankCheck.wrongTotal(audits) { violation(.bankTotal, wrong) }
        if let back = BankCheck.revisionWentBack(timed) { violation(.revisionWentBack, back) }
    }
}
