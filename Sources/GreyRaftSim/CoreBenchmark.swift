import GreyRaft

/// Drives an in-memory 3-node cluster as fast as the core allows: messages delivered at once,
/// every write "durable" at once, proposals in batches as a runtime's group commit would
/// make them. Measures the core alone; there is no I/O anywhere.
public enum CoreBenchmark {
    /// Commits `entries` commands of `payloadBytes` each in batches of `batch`; returns how
    /// many entries the leader committed (the caller times the call).
    public static func run(entries: Int, batch: Int = 64, payloadBytes: Int = 256) -> Int {
        var nodes = (0..<3).map { id -> RaftNode in
            var config = RaftConfig(id: NodeID(UInt64(id)), seed: UInt64(id) + 1)
            config.preVote = false
            return RaftNode(config: config, bootstrap: Configuration(voters: [0, 1, 2]))
        }
        var inbox: [Envelope] = []
        func drain(_ index: Int) {
            let ready = nodes[index].takeReady()
            if let last = ready.entries.last { nodes[index].persisted(through: last.index, term: last.term) }
            inbox += ready.eagerMessages
            inbox += ready.messages
            let more = nodes[index].takeReady()  // a self-ack may have committed more
            inbox += more.eagerMessages + more.messages
        }
        func deliverAll() {
            while !inbox.isEmpty {
                let pending = inbox
                inbox.removeAll(keepingCapacity: true)
                for envelope in pending {
                    let to = Int(envelope.to.rawValue)
                    nodes[to].step(envelope)
                    drain(to)
                }
            }
        }
        var leader = -1
        for _ in 0..<200 where leader < 0 {
            for index in 0..<3 {
                nodes[index].tick()
                drain(index)
            }
            deliverAll()
            leader = nodes.firstIndex { $0.role == .leader } ?? -1
        }
        precondition(leader >= 0, "no leader elected")
        let payload = [UInt8](repeating: 0x61, count: payloadBytes)
        let start = nodes[leader].commitIndex
        var proposed = 0
        while proposed < entries {
            for _ in 0..<min(batch, entries - proposed) {
                _ = try? nodes[leader].propose(payload)
                proposed += 1
            }
            drain(leader)
            deliverAll()
        }
        return Int(nodes[leader].commitIndex.rawValue - start.rawValue)
    }
}
