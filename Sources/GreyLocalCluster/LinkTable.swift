import GreyNode
import GreyRaft
import NIOConcurrencyHelpers

/// The links an in-process cluster has cut: `partition` splits the cluster in two, `heal`
/// restores every link. Nodes consult it before each send (`LinkFaults`), so a cut takes
/// effect on the next message, as a pulled cable would.
public final class LinkTable: LinkFaults {
    private struct Link: Hashable {
        let low: NodeID
        let high: NodeID
        init(_ a: NodeID, _ b: NodeID) {
            (low, high) = a < b ? (a, b) : (b, a)
        }
    }

    private let cut = NIOLockedValueBox(Set<Link>())

    public init() {}

    public func isCut(_ a: NodeID, _ b: NodeID) -> Bool {
        cut.withLockedValue { $0.contains(Link(a, b)) }
    }

    /// Cuts every link between `side` and the other nodes of `all`.
    public func partition(_ side: Set<NodeID>, from all: Set<NodeID>) {
        cut.withLockedValue { cut in
            for a in side {
                for b in all.subtracting(side) { cut.insert(Link(a, b)) }
            }
        }
    }

    /// Restores every link.
    public func heal() {
        cut.withLockedValue { $0.removeAll() }
    }
}
