import GreyRaft

/// A whole Grey cluster in one deterministic process: Raft cores, simulated disks that lose
/// unsynced writes on crash, a network that drops, delays, duplicates, reorders and
/// partitions, clients, and an operator changing membership — all driven by one seed.
/// Safety invariants are checked as it runs; linearizability and lost writes at the end.
public final class Simulation {
    enum Event {
        case tick(NodeID, incarnation: Int)
        case deliver(Envelope)
        case readyDone(NodeID, incarnation: Int, Ready)
        case clientNext(Int)
        case invoke(UInt64, NodeID)
        case clientTimeout(UInt64)
        case nemesis
        case heal
        case restart(NodeID)
        case resume(NodeID)
        case stop(NodeID, incarnation: Int)
        case operatorStep
        /// `from`'s connection to `to` closed: the runtime's hint that `from` may be down.
        case connectionClosed(from: NodeID, to: NodeID)
    }

    let options: SimulationOptions
    var random: SeededRandom
    var queue = EventQueue<Event>()
    var now = 0
    var nodes: [NodeID: SimNode] = [:]
    var nextNodeID: UInt64
    let bootstrap: Configuration
    var blockedLinks: Set<[NodeID]> = []
    var healed = false
    var report: SimulationReport

    // Observers for the safety invariants.
    var leaderOfTerm: [Term: NodeID] = [:]
    var committedEntries: [LogIndex: LogEntry] = [:]
    /// The earliest term in which each committed index was seen committed.
    var committedInTerm: [LogIndex: Term] = [:]
    var appliedEntries: [LogIndex: LogEntry] = [:]
    var seenCommit: [NodeID: LogIndex] = [:]
    /// Nodes to shut down: they learned they were removed, or the operator saw the removal commit.
    var removedNodes: Set<NodeID> = []

    // Clients and their history.
    var history: [UInt64: HistoryOperation] = [:]
    var failedOperations: Set<UInt64> = []
    var clientBusy: [Int: UInt64] = [:]
    var leaderGuess: [Int: NodeID] = [:]
    var nextOperationID: UInt64 = 1
    var nextValue = 0
    var staleReads: [(operation: UInt64, value: String?)] = []
    var writtenValues: Set<String> = []
    /// The bank's stale audits (served from one replica's state, checked for the total only).
    var staleAudits: [(operation: UInt64, result: KVResult)] = []
    /// The transfer each bank client makes next, planned from its last audit.
    var bankPlans: [Int: KVOperation] = [:]

    public init(options: SimulationOptions) {
        self.options = options
        self.random = SeededRandom(seed: options.seed)
        let ids = (0..<UInt64(options.nodeCount)).map { NodeID($0) }
        self.bootstrap = Configuration(voters: Set(ids), addresses: Dictionary(uniqueKeysWithValues: ids.map { ($0, "sim:\($0.rawValue)") }))
        self.nextNodeID = UInt64(options.nodeCount)
        self.report = SimulationReport(seed: options.seed, nodeCount: options.nodeCount)
    }

    /// Runs the whole scenario and reports what it found.
    public func run() -> SimulationReport {
        for id in bootstrap.voters.sorted() { start(id, durable: DurableStore()) }
        for client in 0..<options.clients + options.bankClients { queue.schedule(at: Int(random.next() % 50), .clientNext(client)) }
        if options.partitions || options.crashes || options.pauses { queue.schedule(at: 300, .nemesis) }
        if options.membershipChanges { queue.schedule(at: 500, .operatorStep) }
        queue.schedule(at: options.faultPhaseMs, .heal)
        let end = options.faultPhaseMs + options.healPhaseMs
        while report.violations.isEmpty, let (time, event) = queue.pop(), time <= end {
            now = time
            report.events += 1
            handle(event)
            if report.events % 2_000 == 0 { checkLogMatching() }
        }
        if report.violations.isEmpty { finish() }
        report.simulatedMs = now
        return report
    }

    // MARK: - Nodes

    func raftConfig(for id: NodeID) -> RaftConfig {
        var config = RaftConfig(id: id, seed: random.next())
        config.electionTimeoutTicks = options.electionTimeoutTicks
        config.heartbeatIntervalTicks = options.heartbeatIntervalTicks
        config.maxMessageBytes = 4 << 10
        config.maxInflightMessages = 8
        config.brokenVariants = options.brokenVariants
        config.checkQuorum = options.checkQuorum
        config.preVote = options.preVote
        config.maxClockDrift = options.maxClockDrift
        return config
    }

    func start(_ id: NodeID, durable: DurableStore, bootstrapConfiguration: Configuration? = nil) {
        let node = nodes[id] ?? newNode(id)
        nodes[id] = node
        node.disk = durable
        node.disk.machine.ignoresCompares = options.txnIgnoresCompares
        node.incarnation += 1
        node.pipelineFreeAt = now
        node.pendingReadies = 0
        let state = DurableState(
            hardState: durable.hardState, snapshot: durable.snapshot, entries: durable.entries,
            appliedIndex: durable.machine.appliedIndex)
        node.core = ClockedRaftNode(
            RaftNode(config: raftConfig(for: id), bootstrap: bootstrapConfiguration ?? bootstrap, durable: state),
            tickInterval: .milliseconds(options.tickMs), now: node.clock(at: now))
        seenCommit[id] = node.raft!.commitIndex
        queue.schedule(at: now + 1 + Int(random.next() % UInt64(options.tickMs)), .tick(id, incarnation: node.incarnation))
    }

    /// A server whose clock runs at its own rate, within the drift bound of every other's,
    /// from its own origin.
    func newNode(_ id: NodeID) -> SimNode {
        let node = SimNode(id: id)
        node.clockRate = 1 + random.nextDouble() * options.maxClockDrift
        node.clockOriginNanoseconds = Int64(random.next() % 1_000_000_000_000)
        return node
    }

    /// This node's clock now: what the runtime hands the core with every input.
    func clock(_ node: SimNode) -> Duration {
        node.clock(at: now)
    }

    /// A paused process runs again: what queued up in its sockets is handled first, in any order.
    func resume(_ node: SimNode) {
        node.pausedUntil = nil
        let held = node.heldReadies
        node.heldReadies = []
        let incarnation = node.incarnation
        for ready in held where node.incarnation == incarnation {
            node.pendingReadies -= 1
            complete(node, ready)  // may stop the node (a failed fsync): the rest are gone with it
        }
        var inbox = node.inbox
        node.inbox = []
        inbox.shuffle(using: &random)
        if random.next() % 2 == 0 {
            // Clients' sockets read before the peers' (just as possible as the other way round).
            inbox = inbox.filter { if case .invoke = $0 { true } else { false } } + inbox.filter { if case .invoke = $0 { false } else { true } }
        }
        for event in inbox { handle(event) }
    }

    /// The node stops. A process crash keeps everything it wrote; a power loss keeps only
    /// what was synced.
    func crash(_ node: SimNode, powerLoss: Bool = false) {
        if powerLoss {
            node.disk = node.syncedDisk
            if options.trace { print("t=\(now) \(node.id) loses power: back to what was synced") }
        } else if node.raft != nil {
            // A process's sockets close with it: its peers see the connections end (a machine
            // that loses power closes nothing).
            for other in members where other.id != node.id && !blockedLinks.contains([node.id, other.id]) {
                closeConnection(from: node.id, to: other.id)
            }
        }
        node.core = nil
        node.inbox = []
        node.incarnation += 1
        node.proposals.removeAll()
        node.confirmedReads.removeAll()
        node.readRequests.removeAll()
        node.pausedUntil = nil
        node.heldReadies = []
    }

    /// Takes what the core wants done and does it: eager messages now, the rest after the
    /// simulated fsync, strictly in order behind earlier Readies.
    func process(_ node: SimNode) {
        guard node.core != nil else { return }
        let ready = node.core!.takeReady()
        guard !ready.isEmpty else { return }
        observe(node, ready)
        for envelope in ready.eagerMessages { transmit(envelope) }
        if options.ackBeforeFsync {
            // The broken runtime: what must wait for the disk leaves now. A crash "right after
            // the vote leaves" then comes before the vote is durable.
            for envelope in ready.messages { transmit(envelope) }
            if !healed, options.crashAfterVoteRate > 0, ready.messages.contains(where: \.isGrantedVote),
                random.nextDouble() < options.crashAfterVoteRate
            {
                crash(node)
                queue.schedule(at: now + Int.random(in: options.restartDelayMs, using: &random), .restart(node.id))
                return
            }
        }
        let fsync = ready.needsPersistence ? Int.random(in: options.fsyncMs, using: &random) : 0
        node.pipelineFreeAt = max(node.pipelineFreeAt, now) + fsync
        if node.pipelineFreeAt == now && node.pendingReadies == 0 {
            complete(node, ready)
        } else {
            node.pendingReadies += 1
            queue.schedule(at: node.pipelineFreeAt, .readyDone(node.id, incarnation: node.incarnation, ready))
        }
    }

    func complete(_ node: SimNode, _ ready: Ready) {
        defer { shutDownRemovedNodes() }
        if !healed, ready.mustSync, options.fsyncFailureRate > 0, random.nextDouble() < options.fsyncFailureRate {
            // The fsync failed: greyd stops at once, acknowledging nothing of this Ready, and
            // what it had not synced before may be gone (as after a power loss).
            if options.trace { print("t=\(now) \(node.id) fsync failed: stops") }
            crash(node, powerLoss: true)
            queue.schedule(at: now + Int.random(in: options.restartDelayMs, using: &random), .restart(node.id))
            return
        }
        node.disk.write(ready)
        let synced = ready.mustSync && !(options.entriesUnsynced && !ready.termOrVoteChanged && ready.snapshot == nil)
        if synced { node.syncedDisk = node.disk }
        if let last = ready.entries.last { node.core?.persisted(through: last.index, term: last.term, at: clock(node)) }
        if !options.ackBeforeFsync {
            for envelope in ready.messages { transmit(envelope) }
        }
        let votedJustNow = options.crashAfterVoteRate > 0 && ready.messages.contains(where: \.isGrantedVote)
            && random.nextDouble() < options.crashAfterVoteRate
        let electedJustNow = options.crashNewLeaderRate > 0 && node.raft?.role == .leader
            && ready.entries.contains { $0.payload == .noop && $0.term == node.raft?.term } && random.nextDouble() < options.crashNewLeaderRate
        if !healed, votedJustNow || electedJustNow {
            crash(node)
            queue.schedule(at: now + Int.random(in: options.restartDelayMs, using: &random), .restart(node.id))
            return
        }
        for entry in ready.committed { apply(entry, at: node) }
        for read in ready.readStates {
            node.readRequests.remove(read.requestID)
            node.confirmedReads.append((read.index, read.requestID))
        }
        serveConfirmedReads(node)
        if node.disk.machine.appliedIndex >= (node.disk.snapshot?.index ?? 0) + LogIndex(UInt64(options.snapshotEvery)).rawValue,
            let raft = node.raft, raft.commitIndex >= node.disk.machine.appliedIndex
        {
            takeSnapshot(node)
        }
        process(node)
    }

    /// The operator decommissions removed servers, as one would stop their processes.
    func shutDownRemovedNodes() {
        for id in removedNodes {
            guard let node = nodes[id], !node.removed else { continue }
            crash(node)
            node.removed = true
            if options.trace { print("t=\(now) shut down removed \(id)") }
        }
    }

    func takeSnapshot(_ node: SimNode) {
        guard node.core != nil else { return }
        let index = node.disk.machine.appliedIndex
        node.core!.compact(through: index)
        guard let raft = node.raft, raft.log.snapshotIndex == index else { return }
        node.disk.takeSnapshot(metadata: raft.snapshotMetadata)
    }

    // MARK: - Events

    func handle(_ event: Event) {
        switch event {
        case let .tick(id, incarnation):
            guard let node = nodes[id], node.incarnation == incarnation, node.isUp else { return }
            queue.schedule(at: now + options.tickMs, .tick(id, incarnation: incarnation))
            if let paused = node.pausedUntil, paused > now { return }
            if node.core!.advance(to: clock(node)) > 0 { process(node) }
        case .deliver(let envelope):
            guard let node = nodes[envelope.to], node.isUp, !blockedLinks.contains([envelope.from, envelope.to]) else { return }
            if let paused = node.pausedUntil, paused > now {
                node.inbox.append(.deliver(envelope))  // a paused process reads its socket when resumed
                return
            }
            var envelope = envelope
            if case .installSnapshot(var snapshot) = envelope.message, let sender = nodes[envelope.from] {
                // The runtime attaches the state machine's bytes to the core's snapshot message.
                guard sender.disk.snapshot == snapshot.metadata else { return }
                snapshot.data = SnapshotCodec.encode(sender.disk.snapshotImage)
                envelope.message = .installSnapshot(snapshot)
            }
            node.core!.step(envelope, at: clock(node))
            process(node)
        case let .readyDone(id, incarnation, ready):
            guard let node = nodes[id], node.incarnation == incarnation, node.raft != nil else { return }
            if let paused = node.pausedUntil, paused > now {
                // A stopped process finishes no write and sends nothing until it runs again;
                // it finishes them, in order, when it resumes (which may be sooner than
                // planned: the heal resumes everyone).
                node.heldReadies.append(ready)
                return
            }
            node.pendingReadies -= 1
            complete(node, ready)
        case .clientNext(let client):
            startOperation(client: client)
        case let .invoke(operation, id):
            guard let node = nodes[id] else { return }
            perform(operation, at: node)
        case .clientTimeout(let operation):
            for (client, busy) in clientBusy where busy == operation {
                clientBusy[client] = nil
                leaderGuess[client] = nil  // that node did not answer in time: try another
                queue.schedule(at: now + 1, .clientNext(client))
            }
        case .nemesis:
            guard !healed else { return }
            injectFault()
            queue.schedule(at: now + Int.random(in: options.nemesisIntervalMs, using: &random), .nemesis)
        case .heal:
            healed = true
            blockedLinks.removeAll()
            for node in nodes.values.sorted(by: { $0.id < $1.id }) where !node.removed {
                resume(node)
                if node.raft == nil { start(node.id, durable: node.disk) }
            }
        case .restart(let id):
            guard let node = nodes[id], node.raft == nil, !node.removed else { return }
            start(id, durable: node.disk)
        case .resume(let id):
            if let node = nodes[id] { resume(node) }
        case let .stop(id, incarnation):
            guard let node = nodes[id], node.incarnation == incarnation, node.isUp, !healed else { return }
            crash(node)
            queue.schedule(at: now + Int.random(in: options.restartDelayMs, using: &random), .restart(id))
        case let .connectionClosed(from, to):
            guard let node = nodes[to], node.isUp else { return }
            if let paused = node.pausedUntil, paused > now {
                node.inbox.append(event)
                return
            }
            node.core!.peerMayBeDown(from, at: clock(node))
            process(node)
        case .operatorStep:
            changeMembership()
            queue.schedule(at: now + 200 + Int(random.next() % 300), .operatorStep)
        }
    }

    func closeConnection(from: NodeID, to: NodeID) {
        queue.schedule(at: now + Int.random(in: options.messageDelayMs, using: &random), .connectionClosed(from: from, to: to))
    }

    func transmit(_ envelope: Envelope) {
        guard healed || random.nextDouble() >= options.dropRate else { return }
        let clogged = !healed && random.nextDouble() < options.slowMessageRate
        let delay = clogged ? Int.random(in: 30...150, using: &random) : Int.random(in: options.messageDelayMs, using: &random)
        queue.schedule(at: now + delay, .deliver(envelope))
        if !healed && random.nextDouble() < options.duplicateRate {
            queue.schedule(at: now + Int.random(in: options.messageDelayMs, using: &random) + 2, .deliver(envelope))
        }
    }

    // MARK: - Faults

    var members: [SimNode] { nodes.values.filter { !$0.removed }.sorted { $0.id < $1.id } }

    func injectFault() {
        var menu: [String] = []
        if options.partitions { menu += ["partition", "asymmetric", "heal-links", "isolate-leader", "reset-leader-links"] }
        if options.crashes { menu += ["crash", "crash-leader"] }
        if options.pauses { menu += ["pause", "pause-leader"] }
        if options.leaderTargetedFaults { menu += ["isolate-leader", "crash-leader", "pause-leader", "crash-leader", "heal-links", "reset-leader-links"] }
        if options.transfers { menu += ["transfer-leader", "hand-off", "transfer-cut-off"] }
        if let focused = options.faultMenu { menu = focused }
        guard !menu.isEmpty else { return }
        let choice = menu[Int(random.next() % UInt64(menu.count))]
        defer { if options.trace { print("t=\(now) nemesis \(choice) blocked=\(blockedLinks.sorted { $0.description < $1.description }) paused=\(members.filter { $0.pausedUntil != nil }.map(\.id)) down=\(members.filter { $0.raft == nil }.map(\.id))") } }
        let candidates = members
        let currentLeader = candidates.first { $0.raft?.role == .leader }
        switch choice {
        case "transfer-leader", "hand-off", "transfer-cut-off":
            // A caught-up target, so TimeoutNow leaves at once (before any cut takes effect).
            guard let victim = currentLeader, let raft = victim.raft,
                let target = raft.configuration.voters.filter({ $0 != victim.id && raft.matchIndex(of: $0) == raft.log.lastIndex })
                    .sorted().randomElement(using: &random)
            else { return }
            do {
                try victim.core!.transferLeadership(to: target, at: clock(victim))
            } catch {
                return
            }
            if options.trace { print("t=\(now) \(victim.id) transfers leadership to \(target) (\(choice))") }
            process(victim)
            if choice == "hand-off" {
                // greyd's SIGTERM: hand over, then stop (here a little later, whether or not it took).
                queue.schedule(at: now + 20 + Int(random.next() % 60), .stop(victim.id, incarnation: victim.incarnation))
            } else if choice == "transfer-cut-off" {
                // The old leader hears nothing from now on: not the new term, not its own
                // demotion; everyone else talks freely, so the target can take over at once.
                blockedLinks.removeAll()
                for other in candidates where other.id != victim.id { blockedLinks.insert([other.id, victim.id]) }
            }
        case "isolate-leader", "reset-leader-links":
            guard let victim = currentLeader else { return }
            blockedLinks.removeAll()
            for other in candidates where other.id != victim.id {
                blockedLinks.insert([victim.id, other.id])
                blockedLinks.insert([other.id, victim.id])
                // A firewall that rejects with resets: the followers see the leader's
                // connections close though it runs on, serving its clients.
                if choice == "reset-leader-links" { closeConnection(from: victim.id, to: other.id) }
            }
        case "crash-leader":
            guard let victim = currentLeader, candidates.filter(\.isUp).count > 1 else { return }
            crash(victim, powerLoss: random.nextDouble() < options.powerLossRate)
            queue.schedule(at: now + Int.random(in: options.restartDelayMs, using: &random), .restart(victim.id))
        case "pause-leader":
            guard let victim = currentLeader else { return }
            victim.pausedUntil = now + 100 + Int(random.next() % 400)
            queue.schedule(at: victim.pausedUntil!, .resume(victim.id))
        case "partition":
            var shuffled = candidates.map(\.id)
            shuffled.shuffle(using: &random)
            let cut = 1 + Int(random.next() % UInt64(max(1, shuffled.count - 1)))
            let side = Set(shuffled.prefix(cut))
            blockedLinks.removeAll()
            for a in shuffled { for b in shuffled where side.contains(a) != side.contains(b) { blockedLinks.insert([a, b]) } }
        case "asymmetric":
            guard let victim = candidates.randomElement(using: &random) else { return }
            let outbound = random.next() % 2 == 0
            for other in candidates where other.id != victim.id {
                blockedLinks.insert(outbound ? [victim.id, other.id] : [other.id, victim.id])
            }
        case "heal-links":
            blockedLinks.removeAll()
        case "crash":
            let up = candidates.filter(\.isUp)
            guard up.count > 1, let victim = up.randomElement(using: &random) else { return }
            crash(victim, powerLoss: random.nextDouble() < options.powerLossRate)
            queue.schedule(at: now + Int.random(in: options.restartDelayMs, using: &random), .restart(victim.id))
        default:  // pause, as SIGSTOP would
            guard let victim = candidates.filter(\.isUp).randomElement(using: &random) else { return }
            victim.pausedUntil = now + 50 + Int(random.next() % 500)
            queue.schedule(at: victim.pausedUntil!, .resume(victim.id))
        }
    }

    /// An operator growing and shrinking the cluster: add a learner, promote it once caught
    /// up, remove a voter; one change at a time, through whichever node leads.
    func changeMembership() {
        guard !healed, let leaderNode = members.first(where: { $0.raft?.role == .leader }), let raft = leaderNode.raft else { return }
        let configuration = raft.configuration
        let change: ConfigChange
        if let learner = configuration.learners.sorted().first {
            guard let match = raft.matchIndex(of: learner), match >= raft.commitIndex else { return }
            change = .promote(learner)
        } else if configuration.voters.count > options.nodeCount || (configuration.voters.count > 3 && random.next() % 2 == 0) {
            guard let victim = configuration.voters.sorted().randomElement(using: &random) else { return }
            change = .remove(victim)
        } else {
            let id = NodeID(nextNodeID)
            change = .addLearner(id, address: "sim:\(id.rawValue)")
        }
        do {
            try leaderNode.core!.proposeConfigChange(change, at: clock(leaderNode))
        } catch {
            return
        }
        if options.trace { print("t=\(now) operator \(change) via \(leaderNode.id)") }
        if case .addLearner(let id, _) = change {
            nextNodeID += 1
            // The new server starts empty and learns the membership from the leader.
            start(id, durable: DurableStore(), bootstrapConfiguration: Configuration(voters: []))
        }
        process(leaderNode)
    }

    // MARK: - Finish

    func finish() {
        // After healing, the cluster must elect a leader and commit a write again.
        guard let leader = members.first(where: { $0.raft?.role == .leader }) else {
            violation(.liveness, "no leader after \(options.healPhaseMs) ms without faults")
            return
        }
        let before = leader.raft!.commitIndex
        guard (try? leader.core!.propose(KVCommand.encode(id: 0, .put(key: "final", value: "final")), at: clock(leader))) != nil else {
            violation(.liveness, "leader \(leader.id) refused a write after healing")
            return
        }
        process(leader)
        let deadline = now + 2_000
        while let (time, event) = queue.pop(), time <= deadline, report.violations.isEmpty {
            now = time
            handle(event)
            if let commit = leader.raft?.commitIndex, commit > before, allMembersApplied(through: commit) { break }
        }
        guard let commit = leader.raft?.commitIndex, commit > before else {
            violation(.liveness, "no progress after healing: commit stuck at \(before)")
            return
        }
        checkLogMatching()
        checkFinalStates()
        checkHistory()
        checkBank()
    }

    func allMembersApplied(through index: LogIndex) -> Bool {
        guard let leader = members.first(where: { $0.raft?.role == .leader }) else { return false }
        return members.filter { $0.raft != nil && leader.raft!.configuration.contains($0.id) }
            .allSatisfy { $0.disk.machine.appliedIndex >= index }
    }
}

extension Envelope {
    var isGrantedVote: Bool {
        if case .voteResponse(let response) = message { return response.granted && !response.preVote }
        return false
    }
}

extension SeededRandom {
    /// A uniform double in [0, 1).
    mutating func nextDouble() -> Double {
        Double(next() >> 11) / Double(1 << 53)
    }
}
