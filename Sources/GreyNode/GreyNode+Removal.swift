import GreyRaft
import GreyWire

/// A node taken out of the cluster (`greyctl cluster remove-member`, `quarantine`) stops
/// serving clients: its state ends where its removal was, so answering stale reads from it,
/// or forwarding calls for it, would hide that it is out. (It still answers its peers.)
///
/// The core notices its own removal only when it sees the removing entry commit, and a
/// removed follower usually never does: the leader stops sending to it the moment it appends
/// the change, often before the follower has the entry at all. What the follower does see is
/// its leader falling silent. So a node that was a member and has no leader, or whose newest
/// configuration leaves it out, asks the members it knows, once a second, who leads and with
/// whom; a leader whose membership leaves it out, having committed everything it holds,
/// means it is out.
extension GreyNode {
    static let removalCheckInterval: Duration = .seconds(1)

    /// Marks this node removed and says so, once.
    func noteRemoved() {
        let first = published.withLockedValue { state in
            defer { state.removed = true }
            return !state.removed
        }
        guard first else { return }
        log("removed from the cluster: this node no longer votes or serves; stop it (greyctl repair --data-dir \(configuration.dataDirectory) rebuilds it as a member with the same id)", level: .warning)
    }

    /// Whether to ask: a former member, not leading, that has lost its leader or sees itself
    /// left out of the newest configuration.
    var mayHaveBeenRemoved: Bool {
        raft.wasMember && raft.role != .leader && !wasRemoved && (raft.leader == nil || !raft.configuration.contains(configuration.id))
    }

    /// Asks the members this node knows whether one of them leads without it.
    func checkRemoval() {
        let clock = ContinuousClock.now
        if let last = removalCheckedAt, clock - last < Self.removalCheckInterval { return }
        removalCheckedAt = clock
        let lastIndex = raft.log.lastIndex.rawValue
        let me = configuration.id
        let addresses = raft.configuration.members.subtracting([me]).compactMap { raft.configuration.addresses[$0] }
        let dial = configuration
        Task {
            for address in addresses {
                guard let channel = try? dial.channel(to: address) else { continue }
                let status = try? await channel.call(ClusterMethods.getClusterStatus, GetClusterStatusRequest(), timeout: .seconds(1))
                await channel.close()
                guard let status, status.hasLeader, status.leaderID == status.nodeID else { continue }
                if status.commitIndex >= lastIndex && !status.members.contains(where: { $0.id == me.rawValue }) { self.noteRemoved() }
                return
            }
        }
    }
}
