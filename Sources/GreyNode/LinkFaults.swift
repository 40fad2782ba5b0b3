import GreyRaft

/// Decides whether traffic between two nodes gets through. It is the seam where
/// `cluster-demo` and `cluster-cli`, which run real nodes in one process, cut links to
/// partition a cluster: a node never sends a Raft message, a snapshot chunk or a forwarded
/// client call over a cut link. Cuts are symmetric, so checking at the sender is enough
/// (a reply rides on its request's call). greyd runs without one: every link is up.
public protocol LinkFaults: Sendable {
    func isCut(_ a: NodeID, _ b: NodeID) -> Bool
}
