import GreyRaft

// Clients: each runs one operation at a time against the node it believes leads, records
// the invocation and the outcome, and gives up (outcome unknown) after a timeout.

extension Simulation {
    func startOperation(client: Int) {
        guard clientBusy[client] == nil, now < options.faultPhaseMs + options.healPhaseMs - 300 else { return }
        // In the hostile profile half the clients only read, each from one fixed node, as a
        // reader behind a load balancer would: they keep asking a leader that was cut off.
        let stickyReader = options.stickyReaders && client % 2 == 1 && client < options.clients
        let operation = client < options.clients ? keyValueOperation(stickyReader: stickyReader) : bankOperation(client: client)
        let up = members.filter(\.isUp)
        let fixed = stickyReader ? up.first { $0.id.rawValue == UInt64(client / 2 % max(1, options.nodeCount)) } : nil
        guard let target = fixed ?? up.first(where: { $0.id == leaderGuess[client] }) ?? up.randomElement(using: &random) else {
            queue.schedule(at: now + 20, .clientNext(client))
            return
        }
        let id = nextOperationID
        nextOperationID += 1
        history[id] = HistoryOperation(id: id, client: client, operation: operation, invokedAt: now, completedAt: nil, result: nil)
        report.operations += 1
        clientBusy[client] = id
        queue.schedule(at: now + options.requestTimeoutMs, .clientTimeout(id))
        if let paused = target.pausedUntil, paused > now {
            target.inbox.append(.invoke(id, target.id))  // a stopped process answers when resumed
        } else {
            perform(id, at: target)
        }
    }

    /// A key-value client's next operation on one of the keys.
    func keyValueOperation(stickyReader: Bool) -> KVOperation {
        let key = "k\(random.next() % UInt64(options.keys))"
        // Sticky readers alternate linearizable and lease reads (a lease is what a stale
        // leader is most tempted to trust).
        let roll = stickyReader ? (random.next() % 2 == 0 ? 40 : 65) : random.next() % 100
        let operation: KVOperation
        switch roll {
        case 0..<35:
            operation = .put(key: key, value: freshValue())
        case 35..<60:
            operation = .get(key: key, consistency: .linearizable)
        case 60..<72:
            operation = .get(key: key, consistency: .lease)
        case 72..<77:
            operation = .get(key: key, consistency: .stale)
        case 77..<90:
            let known = writtenValues.filter { $0.hasPrefix(key + ":") }.sorted()
            let expected = random.next() % 4 == 0 || known.isEmpty ? nil : known.randomElement(using: &random)
            operation = .cas(key: key, expected: expected, new: freshValue())
        default:
            operation = .delete(key: key)
        }
        return operation
    }

    /// A bank client's next operation: the transfer its last audit planned, else an audit
    /// (mostly linearizable; some lease, some stale).
    func bankOperation(client: Int) -> KVOperation {
        if let transfer = bankPlans.removeValue(forKey: client) { return transfer }
        switch random.next() % 10 {
        case 0..<6: return .audit(consistency: .linearizable)
        case 6..<8: return .audit(consistency: .lease)
        default: return .audit(consistency: .stale)
        }
    }

    /// Plans a transfer of a random amount between two accounts from what an audit saw, as a
    /// bank client of etcd does: new balances computed by the client, the Txn comparing the
    /// mod revisions the audit returned (a stale audit's make the compare fail, as they must).
    func planTransfer(client: Int, after audit: KVResult) {
        guard client >= options.clients, case let .audited(balances, modRevisions, _) = audit else { return }
        let from = Int(random.next() % UInt64(Bank.accounts))
        let to = (from + 1 + Int(random.next() % UInt64(Bank.accounts - 1))) % Bank.accounts
        let amount = Int(random.next() % UInt64(max(0, balances[from]) + 1))
        bankPlans[client] = .transfer(
            from: Bank.account(from), to: Bank.account(to), newFrom: balances[from] - amount, newTo: balances[to] + amount,
            seen: [modRevisions[from], modRevisions[to]])
    }

    /// Hands an invoked operation to the node serving it.
    func perform(_ id: UInt64, at target: SimNode) {
        guard let recorded = history[id], let client = Optional(recorded.client) else { return }
        let operation = recorded.operation
        let key = operation.key
        guard target.isUp else {
            fail(id)  // connection refused: certainly not executed
            return
        }
        switch operation {
        case .audit(.stale):
            let result = target.disk.machine.audit()
            staleAudits.append((id, result))
            history[id] = nil  // served from one replica as it stands: checked for the total only
            report.completedReads += 1
            planTransfer(client: client, after: result)
            release(client: client)
        case .get(_, .stale):
            let value = target.disk.machine.values[key]
            staleReads.append((id, value))
            history[id] = nil  // stale reads are not linearizable by design; checked on their own
            report.completedReads += 1
            release(client: client)
        case .get(_, let level), .audit(let level):
            target.readRequests.insert(id)
            target.core!.readIndex(requestID: id, lease: level == .lease, at: clock(target))
            process(target)
        default:
            do {
                let placed = try target.core!.propose(KVCommand.encode(id: id, operation), at: clock(target))
                target.proposals[placed.index] = (placed.term, id)
                process(target)
            } catch {
                switch error {
                case .notLeader(let hint): leaderGuess[client] = hint ?? members.filter(\.isUp).randomElement(using: &random)?.id
                case .transferInProgress: leaderGuess[client] = members.filter { $0.isUp && $0.id != target.id }.randomElement(using: &random)?.id
                default: break
                }
                fail(id)
            }
        }
    }

    func freshValue() -> String {
        nextValue += 1
        return "v\(nextValue)"
    }

    func release(client: Int) {
        clientBusy[client] = nil
        queue.schedule(at: now + 1 + Int(random.next() % 15), .clientNext(client))
    }

    /// The operation certainly did not take effect: drop it from the history.
    func fail(_ id: UInt64) {
        guard let operation = history.removeValue(forKey: id) else { return }
        failedOperations.insert(id)
        if clientBusy[operation.client] == id { release(client: operation.client) }
    }

    func succeed(_ id: UInt64, _ result: KVResult) {
        guard var operation = history[id], operation.completedAt == nil else { return }
        operation.completedAt = now
        operation.result = result
        history[id] = operation
        if operation.operation.isWrite { report.acknowledgedWrites += 1 } else { report.completedReads += 1 }
        planTransfer(client: operation.client, after: result)
        if clientBusy[operation.client] == id { release(client: operation.client) }
    }

    func apply(_ entry: LogEntry, at node: SimNode) {
        if let earlier = appliedEntries[entry.index], earlier != entry {
            violation(.stateMachineSafety, "\(node.id) applied \(entry) = \(entry.payload) where another node applied \(earlier.payload)")
        }
        appliedEntries[entry.index] = entry
        // The operator stops a removed server once its removal has committed (any node applying
        // it shows that), as one would stop its process: left running, a server that never
        // learned it was removed would keep calling elections.
        if case .config(.remove(let removed), _) = entry.payload { removedNodes.insert(removed) }
        guard let applied = node.disk.machine.apply(entry) else {
            node.proposals[entry.index].map { fail($0.operation) }
            node.proposals[entry.index] = nil
            return
        }
        if case let .put(key, value) = KVCommand.decode(entry.payload.commandBytes).operation { writtenValues.insert("\(key):\(value)") }
        if case let .cas(key, _, value) = KVCommand.decode(entry.payload.commandBytes).operation { writtenValues.insert("\(key):\(value)") }
        guard let proposal = node.proposals.removeValue(forKey: entry.index) else { return }
        if proposal.term == entry.term && proposal.operation == applied.id {
            succeed(applied.id, applied.result)
        } else {
            fail(proposal.operation)  // another entry committed at our index: ours never will
        }
    }

    func serveConfirmedReads(_ node: SimNode) {
        let applied = node.disk.machine.appliedIndex
        let ready = node.confirmedReads.filter { $0.index <= applied }
        node.confirmedReads.removeAll { $0.index <= applied }
        for read in ready {
            guard let operation = history[read.operation] else { continue }
            succeed(read.operation, operation.operation.isBank ? node.disk.machine.audit() : .value(node.disk.machine.values[operation.operation.key]))
        }
    }
}

extension EntryPayload {
    var commandBytes: [UInt8] {
        if case .command(let bytes) = self { return bytes }
        return []
    }
}
