import GreyRaft

/// The lines an operator needs about the cluster around this node: members joining, being
/// promoted or leaving (as this node's log adopts each configuration), and peers that stop
/// answering or answer again (as this node's own calls to them fail or succeed).
extension GreyNode {
    /// Consecutive failed calls before a peer is called unreachable: one lost heartbeat or a
    /// slow answer is not worth a line.
    static let unreachableAfterFailures = 3

    /// How one peer's calls have gone lately.
    struct PeerHealth {
        var failures = 0
        var unreachableSince: ContinuousClock.Instant?
    }

    /// Logs what changed between the configuration logged last and `next`.
    func logMembership(_ next: GreyRaft.Configuration) {
        defer { loggedConfiguration = next }
        // A node that is joining learns the whole membership at once: greyd says so itself.
        guard let previous = loggedConfiguration, !previous.members.isEmpty else { return }
        for id in next.members.subtracting(previous.members).sorted() {
            let role = next.voters.contains(id) ? "voter" : "learner"
            log("member \(id.rawValue) at \(next.addresses[id] ?? "?") joined as a \(role)")
        }
        for id in previous.learners.intersection(next.voters).sorted() {
            log("member \(id.rawValue) promoted to voter")
        }
        for id in previous.members.subtracting(next.members).sorted() {
            log("member \(id.rawValue) at \(previous.addresses[id] ?? "?") removed")
            peerHealth[id] = nil
        }
    }

    /// Notes how a call to `peer` went; logs when it becomes unreachable or answers again.
    func notePeerCall(_ peer: NodeID, failure: (any Error)?) {
        var health = peerHealth[peer] ?? PeerHealth()
        defer { peerHealth[peer] = health }
        let address = raft.configuration.addresses[peer] ?? "?"
        guard let failure else {
            if let since = health.unreachableSince {
                log("peer \(peer.rawValue) at \(address) answers again, after \(Self.seconds(since))")
            }
            health = PeerHealth()
            return
        }
        health.failures += 1
        guard health.failures == Self.unreachableAfterFailures, health.unreachableSince == nil else { return }
        health.unreachableSince = ContinuousClock.now
        log("peer \(peer.rawValue) at \(address) unreachable: \(failure)", level: .warning)
    }

    private static func seconds(_ since: ContinuousClock.Instant) -> String {
        let elapsed = ContinuousClock.now - since
        return "\(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)".prefix(5) + " s"
    }
}
