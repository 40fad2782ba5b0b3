import GreyRaft

/// The member ids Grey's nodes go by on etcd's API. etcd never gives a member id 0: its
/// clients read 0 as "no member" and "no leader", and proto3 JSON leaves a 0 out (etcdctl's
/// `-w json` showed node 0 with no id at all). Grey's default node id is 0. So node 0 goes by
/// `nodeZero` (all ones) there, and every other node by its own id — the id `etcdctl member
/// add` prints is the GREY_NODE_ID to start the new node with, as it is. greyd refuses
/// `nodeZero` as a node id.
public enum EtcdMemberID {
    public static let nodeZero = UInt64.max

    /// The etcd member id of `node`.
    static func of(_ node: NodeID) -> UInt64 {
        node.rawValue == 0 ? nodeZero : node.rawValue
    }

    /// The etcd member id of a leader, or 0 for none (etcd's Status).
    static func of(leader: NodeID?) -> UInt64 {
        leader.map(of) ?? 0
    }

    /// The node an etcd member id names; nil for 0, which names none.
    static func node(_ member: UInt64) -> NodeID? {
        switch member {
        case 0: nil
        case nodeZero: NodeID(0)
        default: NodeID(member)
        }
    }

    /// A new member id for MemberAdd: random (as etcd's), never 0, `nodeZero` or one in `taken`.
    static func random(avoiding taken: Set<UInt64>) -> UInt64 {
        var id: UInt64
        repeat { id = UInt64.random(in: 1..<nodeZero) } while taken.contains(id)
        return id
    }
}
