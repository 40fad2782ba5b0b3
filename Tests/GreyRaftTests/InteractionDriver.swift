@testable import GreyRaft

/// Drives several Raft cores by hand from a script, as etcd/raft's interaction tests do:
/// every message is held in a network until a command delivers or drops it, every Ready is
/// persisted at once, and a recorder checks the safety properties after every command.
///
/// Commands (one per block, output compared with the text after `----`):
///   cluster N [prevote=B] [checkquorum=B] [max-message-bytes=N]
///   campaign I            node I starts an election now
///   propose I DATA        node I proposes a command
///   deliver [to=I,J] [rounds=N]   deliver pending messages (to those nodes), until none or N rounds
///   drop [to=I,J]         lose pending messages (to those nodes)
///   crash I | restart I   lose in-memory state / come back from what was persisted
///   tick I [N] | tick-all N   advance logical time
///   isolate I | heal      drop every message to or from I from now on / stop doing so
///   transfer I TARGET     leader I hands leadership to TARGET
///   add-learner I NEW | promote I ID | remove I ID   membership changes through leader I
///   read I ID [lease]     node I asks to serve read ID; `reads` lists the reads released
///   status                role, term, last entry and commit of every node
///   check                 the safety verdict so far
///
/// The checks after every command: election safety (one leader per term), state machine
/// safety (one entry per committed index), and reads: a read released at an index below one
/// already committed when it was asked is stale (it would miss an acknowledged write).
final class InteractionDriver {
    private var nodes: [NodeID: RaftNode] = [:]
    private var disks: [NodeID: DurableState] = [:]
    private var pending: [Envelope] = []
    private var bootstrap = Configuration(voters: [])
    private var config: (preVote: Bool, checkQuorum: Bool, maxMessageBytes: Int) = (false, false, 1 << 20)
    private let brokenVariants: BrokenVariants
    private var committed: [LogIndex: LogEntry] = [:]
    private var leaders: [Term: NodeID] = [:]
    private var violations: [String] = []
    private var isolated: Set<NodeID> = []
    private var releasedReads: [String] = []
    /// For each read asked: the highest index committed anywhere at that moment.
    private var readFloors: [UInt64: LogIndex] = [:]

    init(brokenVariants: BrokenVariants = []) {
        self.brokenVariants = brokenVariants
    }

    func run(_ command: String) -> String {
        let words = command.split(separator: " ").map(String.init)
        let options = Dictionary(words.dropFirst().compactMap { word -> (String, String)? in
            let parts = word.split(separator: "=", maxSplits: 1).map(String.init)
            return parts.count == 2 ? (parts[0], parts[1]) : nil
        }, uniquingKeysWith: { $1 })
        let node = words.count > 1 ? UInt64(words[1]).map { NodeID($0) } : nil
        let targets = options["to"].map { Set($0.split(separator: ",").compactMap { UInt64($0) }.map { NodeID($0) }) }
        defer { record() }
        switch words.first {
        case "cluster":
            let count = UInt64(words[1])!
            config = (options["prevote"] == "true", options["checkquorum"] == "true", Int(options["max-message-bytes"] ?? "") ?? 1 << 20)
            bootstrap = Configuration(voters: Set((0..<count).map { NodeID($0) }))
            for id in bootstrap.voters { disks[id] = DurableState(); start(id) }
            return "ok"
        case "campaign":
            nodes[node!]!.campaign(transfer: false)
            process(node!)
            return "\(node!) \(nodes[node!]!.role) \(nodes[node!]!.term)"
        case "propose":
            do {
                let placed = try nodes[node!]!.propose(Array(words[2].utf8))
                process(node!)
                return "\(node!) proposed \(placed.index)@\(placed.term)"
            } catch {
                return "\(node!) refused: \(error)"
            }
        case "deliver":
            let rounds = Int(options["rounds"] ?? "") ?? 1_000
            var delivered = 0
            for _ in 0..<rounds {
                let batch = pending.filter { targets?.contains($0.to) ?? true }
                guard !batch.isEmpty else { break }
                pending.removeAll { targets?.contains($0.to) ?? true }
                for envelope in batch where nodes[envelope.to] != nil && !isolated.contains(envelope.to) && !isolated.contains(envelope.from) {
                    nodes[envelope.to]!.step(envelope)
                    process(envelope.to)
                    delivered += 1
                }
            }
            return "delivered \(delivered)"
        case "drop":
            let before = pending.count
            pending.removeAll { targets?.contains($0.to) ?? true }
            return "dropped \(before - pending.count)"
        case "crash":
            nodes[node!] = nil
            pending.removeAll { $0.to == node! }
            return "ok"
        case "restart":
            start(node!)
            return "ok"
        case "tick":
            for _ in 0..<(words.count > 2 ? Int(words[2])! : 1) {
                nodes[node!]!.tick()
                process(node!)
            }
            return "\(node!) \(nodes[node!]!.role) \(nodes[node!]!.term)"
        case "tick-all":
            for _ in 0..<Int(words[1])! {
                for id in nodes.keys.sorted() {
                    nodes[id]!.tick()
                    process(id)
                }
            }
            return "ok"
        case "isolate":
            isolated.insert(node!)
            return "ok"
        case "heal":
            isolated.removeAll()
            return "ok"
        case "transfer":
            do {
                try nodes[node!]!.transferLeadership(to: NodeID(UInt64(words[2])!))
                process(node!)
                return "ok"
            } catch {
                return "refused: \(error)"
            }
        case "add-learner", "promote", "remove":
            let target = NodeID(UInt64(words[2])!)
            let change: ConfigChange = switch words[0] {
            case "add-learner": .addLearner(target, address: "n\(target.rawValue)")
            case "promote": .promote(target)
            default: .remove(target)
            }
            do {
                let index = try nodes[node!]!.proposeConfigChange(change)
                process(node!)
                if case .addLearner = change {
                    disks[target] = DurableState()
                    let saved = bootstrap
                    bootstrap = Configuration(voters: [])  // a joiner knows nobody until the leader tells it
                    start(target)
                    bootstrap = saved
                }
                return "\(change) at \(index)"
            } catch {
                return "refused: \(error)"
            }
        case "read":
            readFloors[UInt64(words[2])!] = committed.keys.max() ?? LogIndex(0)
            nodes[node!]!.readIndex(requestID: UInt64(words[2])!, lease: words.count > 3 && words[3] == "lease")
            process(node!)
            return "ok"
        case "reads":
            defer { releasedReads.removeAll() }
            return releasedReads.isEmpty ? "none" : releasedReads.joined(separator: "\n")
        case "status":
            return nodes.keys.sorted().map { id in
                let raft = nodes[id]!
                let membership = raft.configuration.voters.contains(id) ? "voter" : raft.configuration.learners.contains(id) ? "learner" : "outside"
                return "\(id) \(raft.role) \(raft.term) last=\(raft.log.lastIndex)@\(raft.log.lastTerm) commit=\(raft.commitIndex) \(membership) of \(raft.configuration)"
            }.joined(separator: "\n")
        case "check":
            return violations.isEmpty ? "safe" : violations.joined(separator: "\n")
        default:
            return "unknown command: \(command)"
        }
    }

    private func start(_ id: NodeID) {
        var raftConfig = RaftConfig(id: id, seed: id.rawValue + 1)
        raftConfig.preVote = config.preVote
        raftConfig.checkQuorum = config.checkQuorum
        raftConfig.maxMessageBytes = config.maxMessageBytes
        raftConfig.brokenVariants = brokenVariants
        nodes[id] = RaftNode(config: raftConfig, bootstrap: bootstrap, durable: disks[id]!)
    }

    /// Persists a node's Ready at once and queues its messages.
    private func process(_ id: NodeID) {
        guard var raft = nodes[id] else { return }
        let ready = raft.takeReady()
        var disk = disks[id]!
        if let from = ready.truncateFrom { disk.entries.removeAll { $0.index >= from } }
        if let first = ready.entries.first { disk.entries.removeAll { $0.index >= first.index } }
        disk.entries += ready.entries
        if let hardState = ready.hardState { disk.hardState = hardState }
        if let last = ready.committed.last { disk.appliedIndex = last.index }
        disks[id] = disk
        if let last = ready.entries.last { raft.persisted(through: last.index, term: last.term) }
        nodes[id] = raft
        pending += ready.eagerMessages + ready.messages
        for read in ready.readStates {
            releasedReads.append("\(id) read \(read.requestID) at \(read.index)")
            if let floor = readFloors[read.requestID], read.index < floor {
                violations.append("stale read: \(id) released read \(read.requestID) at \(read.index), but \(floor) was committed before it was asked")
            }
        }
        for event in ready.events {
            if case .readFailed(let requestID, let error) = event { releasedReads.append("\(id) read \(requestID) failed: \(error)") }
            if case .removed = event { releasedReads.append("\(id) learned it was removed") }
            if case .roleChanged(.leader, _, let term) = event {
                if let other = leaders[term], other != id { violations.append("election safety violated: \(other) and \(id) lead \(term)") }
                leaders[term] = id
            }
        }
        if raft.durableIndex > 0 && (!ready.entries.isEmpty) { process(id) }  // self-acks may commit more
    }

    /// State machine safety: no two nodes ever consider different entries committed at one index.
    private func record() {
        for (id, raft) in nodes.sorted(by: { $0.key < $1.key }) {
            var index = raft.log.snapshotIndex.next
            while index <= raft.commitIndex {
                if let entry = raft.log.entry(at: index) {
                    if let earlier = committed[index], earlier != entry {
                        let text = "state machine safety violated at \(index): \(earlier.index)@\(earlier.term) was committed, \(id) commits \(entry.index)@\(entry.term)"
                        if !violations.contains(text) { violations.append(text) }
                    }
                    committed[index] = committed[index] ?? entry
                }
                index = index.next
            }
        }
    }
}
