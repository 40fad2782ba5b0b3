import GreyRaft
import NIOCore

/// How a follower learns at once that its leader's process died: the kernel closes a killed
/// process's sockets, so the connection the leader's appends arrive on ends. The core takes
/// that as a hint (`RaftNode.peerMayBeDown`) and campaigns as soon as the voters' stickiness
/// allows — about one election timeout after the leader was last heard — instead of after a
/// random timeout of up to twice that. A connection that closes for any other reason (a reset,
/// a leader that reconnects) costs nothing: the leader's next append restores the timer. Once
/// this node is stopping gracefully, the connections it closes itself are no hint at all.
extension GreyNode {
    /// Watches the connection `peer`'s append arrived on, once per connection: a leader's
    /// appends come on one connection, so this is one comparison per append.
    func watchConnection(_ closed: EventLoopFuture<Void>, of peer: NodeID) {
        guard watchedConnections[peer] !== closed else { return }
        watchedConnections[peer] = closed
        closed.hop(to: eventLoop).whenComplete { _ in
            self.assumeIsolated { node in node.connectionClosed(closed, of: peer) }
        }
    }

    private func connectionClosed(_ closed: EventLoopFuture<Void>, of peer: NodeID) {
        // Only the latest connection counts: an older one closing says nothing about the peer.
        guard watchedConnections[peer] === closed, !halted, !stopping else { return }
        watchedConnections[peer] = nil
        guard let ticks = core.peerMayBeDown(peer, at: now) else { return }
        let milliseconds = Int((NodeConfiguration.tick * ticks) / .milliseconds(1))
        log("leader \(peer.rawValue)'s connection closed: campaigning \(milliseconds) ms after it was last heard unless it is heard from again", level: .warning)
        kick()
    }
}
