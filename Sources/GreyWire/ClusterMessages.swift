import GreyProto

// Swift mirrors of the membership types in Protos/grey/v1/cluster.proto.

/// Whether a member votes (`grey.v1.MemberRole`).
public enum MemberRole: UInt32, Sendable, CaseIterable {
    case voter = 0
    case learner = 1
}

/// A member's Raft role as last seen (`grey.v1.MemberState`).
public enum MemberState: UInt32, Sendable, CaseIterable {
    case follower = 0
    case candidate = 1
    case leader = 2
    case unknown = 3
}

extension MemberState {
    /// The lower-case word CLIs print for it.
    public var name: String {
        switch self {
        case .leader: "leader"
        case .follower: "follower"
        case .candidate: "candidate"
        case .unknown: "unknown"
        }
    }
}

/// How the leader replicates to a member (`grey.v1.ReplicationState`).
public enum ReplicationState: UInt32, Sendable, CaseIterable {
    case none = 0
    case probe = 1
    case replicate = 2
    case snapshot = 3

    /// The lower-case word CLIs print for it.
    public var name: String {
        switch self {
        case .none: "none"
        case .probe: "probe"
        case .replicate: "replicate"
        case .snapshot: "snapshot"
        }
    }
}

/// One cluster member (`grey.v1.Member`).
public struct Member: ProtobufMessage {
    public var id: UInt64
    public var address: String
    public var role: MemberRole
    public var state: MemberState
    public var matchIndex: UInt64
    public var reachable: Bool
    /// Filled in by the leader only, for the other members.
    public var replication: ReplicationState
    public var nextIndex: UInt64
    /// Milliseconds since the member last answered the leader; -1 if it has not this term.
    public var sinceContactMilliseconds: Int64
    /// AppendEntries sent to it and not yet acknowledged.
    public var inflight: UInt32

    public init(
        id: UInt64 = 0, address: String = "", role: MemberRole = .voter, state: MemberState = .follower,
        matchIndex: UInt64 = 0, reachable: Bool = false, replication: ReplicationState = .none, nextIndex: UInt64 = 0,
        sinceContactMilliseconds: Int64 = 0, inflight: UInt32 = 0
    ) {
        self.id = id
        self.address = address
        self.role = role
        self.state = state
        self.matchIndex = matchIndex
        self.reachable = reachable
        self.replication = replication
        self.nextIndex = nextIndex
        self.sinceContactMilliseconds = sinceContactMilliseconds
        self.inflight = inflight
    }

    public static let descriptor = protobufDescriptor(Grey__V1__Member.self, grey__v1__member__init)

    public init(c: Grey__V1__Member) throws(WireError) {
        self.init(
            id: c.id, address: String(protobufC: c.address),
            role: try decodeEnum(MemberRole.self, c.role.rawValue, message: "Member", field: "role"),
            state: try decodeEnum(MemberState.self, c.state.rawValue, message: "Member", field: "state"),
            matchIndex: c.match_index, reachable: c.reachable != 0,
            replication: try decodeEnum(ReplicationState.self, c.replication.rawValue, message: "Member", field: "replication"),
            nextIndex: c.next_index, sinceContactMilliseconds: c.since_contact_ms, inflight: c.inflight)
    }

    public func makeC(in arena: CArena) -> UnsafeMutablePointer<Grey__V1__Member> {
        let c = arena.message(Grey__V1__Member.self, grey__v1__member__init)
        c.pointee.id = id
        c.pointee.address = arena.string(address)
        c.pointee.role = Grey__V1__MemberRole(rawValue: role.rawValue)
        c.pointee.state = Grey__V1__MemberState(rawValue: state.rawValue)
        c.pointee.match_index = matchIndex
        c.pointee.reachable = reachable ? 1 : 0
        c.pointee.replication = Grey__V1__ReplicationState(rawValue: replication.rawValue)
        c.pointee.next_index = nextIndex
        c.pointee.since_contact_ms = sinceContactMilliseconds
        c.pointee.inflight = inflight
        return c
    }
}

/// The payload of a configuration-change log entry (`grey.v1.ConfigChange`).
public struct ConfigChange: ProtobufMessage {
    /// What the change does.
    public enum Kind: UInt32, Sendable, CaseIterable {
        case addLearner = 0
        case promote = 1
        case remove = 2
    }

    public var kind: Kind
    public var nodeID: UInt64
    public var address: String
    /// The whole membership after the change.
    public var result: Configuration?

    public init(kind: Kind = .addLearner, nodeID: UInt64 = 0, address: String = "", result: Configuration? = nil) {
        self.kind = kind
        self.nodeID = nodeID
        self.address = address
        self.result = result
    }

    public static let descriptor = protobufDescriptor(Grey__V1__ConfigChange.self, grey__v1__config_change__init)

    public init(c: Grey__V1__ConfigChange) throws(WireError) {
        self.init(
            kind: try decodeEnum(Kind.self, c.kind.rawValue, message: "ConfigChange", field: "kind"),
            nodeID: c.node_id, address: String(protobufC: c.address),
            result: try decodeNested(Configuration.self, c.result))
    }

    public func makeC(in arena: CArena) -> UnsafeMutablePointer<Grey__V1__ConfigChange> {
        let c = arena.message(Grey__V1__ConfigChange.self, grey__v1__config_change__init)
        c.pointee.kind = Grey__V1__ConfigChange__Kind(rawValue: kind.rawValue)
        c.pointee.node_id = nodeID
        c.pointee.address = arena.string(address)
        c.pointee.result = result?.makeC(in: arena)
        return c
    }
}

/// A whole membership, as carried in snapshots (`grey.v1.Configuration`).
public struct Configuration: ProtobufMessage {
    public var members: [Member]

    public init(members: [Member] = []) {
        self.members = members
    }

    public static let descriptor = protobufDescriptor(Grey__V1__Configuration.self, grey__v1__configuration__init)

    public init(c: Grey__V1__Configuration) throws(WireError) {
        self.init(members: try decodeRepeated(Member.self, count: c.n_members, c.members))
    }

    public func makeC(in arena: CArena) -> UnsafeMutablePointer<Grey__V1__Configuration> {
        let c = arena.message(Grey__V1__Configuration.self, grey__v1__configuration__init)
        (c.pointee.n_members, c.pointee.members) = arena.repeated(members)
        return c
    }
}

/// `grey.v1.JoinClusterRequest`.
public struct JoinClusterRequest: ProtobufMessage {
    public var nodeID: UInt64
    public var address: String
    public var asLearner: Bool
    public var joinToken: String

    public init(nodeID: UInt64 = 0, address: String = "", asLearner: Bool = false, joinToken: String = "") {
        self.nodeID = nodeID
        self.address = address
        self.asLearner = asLearner
        self.joinToken = joinToken
    }

    public static let descriptor = protobufDescriptor(Grey__V1__JoinClusterRequest.self, grey__v1__join_cluster_request__init)

    public init(c: Grey__V1__JoinClusterRequest) {
        self.init(
            nodeID: c.node_id, address: String(protobufC: c.address), asLearner: c.as_learner != 0,
            joinToken: String(protobufC: c.join_token))
    }

    public func makeC(in arena: CArena) -> UnsafeMutablePointer<Grey__V1__JoinClusterRequest> {
        let c = arena.message(Grey__V1__JoinClusterRequest.self, grey__v1__join_cluster_request__init)
        c.pointee.node_id = nodeID
        c.pointee.address = arena.string(address)
        c.pointee.as_learner = asLearner ? 1 : 0
        c.pointee.join_token = arena.string(joinToken)
        return c
    }
}

/// `grey.v1.LeaveClusterRequest`.
public struct LeaveClusterRequest: ProtobufMessage {
    public var nodeID: UInt64
    public var force: Bool
    public var joinToken: String

    public init(nodeID: UInt64 = 0, force: Bool = false, joinToken: String = "") {
        self.nodeID = nodeID
        self.force = force
        self.joinToken = joinToken
    }

    public static let descriptor = protobufDescriptor(Grey__V1__LeaveClusterRequest.self, grey__v1__leave_cluster_request__init)

    public init(c: Grey__V1__LeaveClusterRequest) {
        self.init(nodeID: c.node_id, force: c.force != 0, joinToken: String(protobufC: c.join_token))
    }

    public func makeC(in arena: CArena) -> UnsafeMutablePointer<Grey__V1__LeaveClusterRequest> {
        let c = arena.message(Grey__V1__LeaveClusterRequest.self, grey__v1__leave_cluster_request__init)
        c.pointee.node_id = nodeID
        c.pointee.force = force ? 1 : 0
        c.pointee.join_token = arena.string(joinToken)
        return c
    }
}

/// `grey.v1.PromoteMemberRequest`.
public struct PromoteMemberRequest: ProtobufMessage {
    public var nodeID: UInt64

    public init(nodeID: UInt64 = 0) {
        self.nodeID = nodeID
    }

    public static let descriptor = protobufDescriptor(Grey__V1__PromoteMemberRequest.self, grey__v1__promote_member_request__init)

    public init(c: Grey__V1__PromoteMemberRequest) {
        self.init(nodeID: c.node_id)
    }

    public func makeC(in arena: CArena) -> UnsafeMutablePointer<Grey__V1__PromoteMemberRequest> {
        let c = arena.message(Grey__V1__PromoteMemberRequest.self, grey__v1__promote_member_request__init)
        c.pointee.node_id = nodeID
        return c
    }
}

/// The reply to every membership change: who answered and the membership afterwards.
///
/// `JoinClusterResponse`, `LeaveClusterResponse` and `PromoteMemberResponse` share one shape
/// on the wire; this generic mirror serves all three through `MembershipReplyKind`.
public struct MembershipResponse<Kind: MembershipReplyKind>: ProtobufMessage {
    public typealias CMessage = Kind.CMessage
    public var header: ResponseHeader?
    public var members: [Member]

    public init(header: ResponseHeader? = nil, members: [Member] = []) {
        self.header = header
        self.members = members
    }

    public static var descriptor: MessageDescriptor { Kind.descriptor }

    public init(c: Kind.CMessage) throws(WireError) {
        let fields = Kind.fields(c)
        self.init(
            header: try decodeNested(ResponseHeader.self, fields.header),
            members: try decodeRepeated(Member.self, count: fields.count, fields.members))
    }

    public func makeC(in arena: CArena) -> UnsafeMutablePointer<Kind.CMessage> {
        let c = arena.message(Kind.CMessage.self, Kind.initialise)
        let (count, pointers) = arena.repeated(members)
        Kind.setFields(c, header?.makeC(in: arena), count, pointers)
        return c
    }
}

/// Binds `MembershipResponse` to one of the three generated C structs.
public protocol MembershipReplyKind: Sendable {
    associatedtype CMessage
    static var descriptor: MessageDescriptor { get }
    static func initialise(_ message: UnsafeMutablePointer<CMessage>?)
    static func fields(_ c: CMessage) -> (
        header: UnsafeMutablePointer<Grey__V1__ResponseHeader>?, count: Int,
        members: UnsafeMutablePointer<UnsafeMutablePointer<Grey__V1__Member>?>?)
    static func setFields(
        _ c: UnsafeMutablePointer<CMessage>, _ header: UnsafeMutablePointer<Grey__V1__ResponseHeader>?, _ count: Int,
        _ members: UnsafeMutablePointer<UnsafeMutablePointer<Grey__V1__Member>?>?)
}

public enum JoinReply: MembershipReplyKind {
    public static let descriptor = protobufDescriptor(Grey__V1__JoinClusterResponse.self, grey__v1__join_cluster_response__init)
    public static func initialise(_ message: UnsafeMutablePointer<Grey__V1__JoinClusterResponse>?) {
        grey__v1__join_cluster_response__init(message)
    }
    public static func fields(_ c: Grey__V1__JoinClusterResponse) -> (
        header: UnsafeMutablePointer<Grey__V1__ResponseHeader>?, count: Int,
        members: UnsafeMutablePointer<UnsafeMutablePointer<Grey__V1__Member>?>?
    ) { (c.header, c.n_members, c.members) }
    public static func setFields(
        _ c: UnsafeMutablePointer<Grey__V1__JoinClusterResponse>, _ header: UnsafeMutablePointer<Grey__V1__ResponseHeader>?,
        _ count: Int, _ members: UnsafeMutablePointer<UnsafeMutablePointer<Grey__V1__Member>?>?
    ) { (c.pointee.header, c.pointee.n_members, c.pointee.members) = (header, count, members) }
}

public enum LeaveReply: MembershipReplyKind {
    public static let descriptor = protobufDescriptor(Grey__V1__LeaveClusterResponse.self, grey__v1__leave_cluster_response__init)
    public static func initialise(_ message: UnsafeMutablePointer<Grey__V1__LeaveClusterResponse>?) {
        grey__v1__leave_cluster_response__init(message)
    }
    public static func fields(_ c: Grey__V1__LeaveClusterResponse) -> (
        header: UnsafeMutablePointer<Grey__V1__ResponseHeader>?, count: Int,
        members: UnsafeMutablePointer<UnsafeMutablePointer<Grey__V1__Member>?>?
    ) { (c.header, c.n_members, c.members) }
    public static func setFields(
        _ c: UnsafeMutablePointer<Grey__V1__LeaveClusterResponse>, _ header: UnsafeMutablePointer<Grey__V1__ResponseHeader>?,
        _ count: Int, _ members: UnsafeMutablePointer<UnsafeMutablePointer<Grey__V1__Member>?>?
    ) { (c.pointee.header, c.pointee.n_members, c.pointee.members) = (header, count, members) }
}

public enum PromoteReply: MembershipReplyKind {
    public static let descriptor = protobufDescriptor(Grey__V1__PromoteMemberResponse.self, grey__v1__promote_member_response__init)
    public static func initialise(_ message: UnsafeMutablePointer<Grey__V1__PromoteMemberResponse>?) {
        grey__v1__promote_member_response__init(message)
    }
    public static func fields(_ c: Grey__V1__PromoteMemberResponse) -> (
        header: UnsafeMutablePointer<Grey__V1__ResponseHeader>?, count: Int,
        members: UnsafeMutablePointer<UnsafeMutablePointer<Grey__V1__Member>?>?
    ) { (c.header, c.n_members, c.members) }
    public static func setFields(
        _ c: UnsafeMutablePointer<Grey__V1__PromoteMemberResponse>, _ header: UnsafeMutablePointer<Grey__V1__ResponseHeader>?,
        _ count: Int, _ members: UnsafeMutablePointer<UnsafeMutablePointer<Grey__V1__Member>?>?
    ) { (c.pointee.header, c.pointee.n_members, c.pointee.members) = (header, count, members) }
}

/// `grey.v1.JoinClusterResponse`.
public typealias JoinClusterResponse = MembershipResponse<JoinReply>
/// `grey.v1.LeaveClusterResponse`.
public typealias LeaveClusterResponse = MembershipResponse<LeaveReply>
/// `grey.v1.PromoteMemberResponse`.
public typealias PromoteMemberResponse = MembershipResponse<PromoteReply>

/// `grey.v1.GetClusterStatusRequest` (no fields).
public struct GetClusterStatusRequest: ProtobufMessage {
    public init() {}
    public static let descriptor = protobufDescriptor(Grey__V1__GetClusterStatusRequest.self, grey__v1__get_cluster_status_request__init)
    public init(c: Grey__V1__GetClusterStatusRequest) {}
    public func makeC(in arena: CArena) -> UnsafeMutablePointer<Grey__V1__GetClusterStatusRequest> {
        arena.message(Grey__V1__GetClusterStatusRequest.self, grey__v1__get_cluster_status_request__init)
    }
}

/// `grey.v1.GetClusterStatusResponse`: what the answering node knows of the cluster.
public struct GetClusterStatusResponse: ProtobufMessage {
    public var nodeID: UInt64
    public var leaderID: UInt64
    public var term: UInt64
    public var commitIndex: UInt64
    public var lastLogIndex: UInt64
    public var appliedIndex: UInt64
    public var hasLeader: Bool
    public var members: [Member]
    public var state: MemberState
    public var snapshotIndex: UInt64

    public init(
        nodeID: UInt64 = 0, leaderID: UInt64 = 0, term: UInt64 = 0, commitIndex: UInt64 = 0, lastLogIndex: UInt64 = 0,
        appliedIndex: UInt64 = 0, hasLeader: Bool = false, members: [Member] = [], state: MemberState = .follower,
        snapshotIndex: UInt64 = 0
    ) {
        self.nodeID = nodeID
        self.leaderID = leaderID
        self.term = term
        self.commitIndex = commitIndex
        self.lastLogIndex = lastLogIndex
        self.appliedIndex = appliedIndex
        self.hasLeader = hasLeader
        self.members = members
        self.state = state
        self.snapshotIndex = snapshotIndex
    }

    public static let descriptor = protobufDescriptor(Grey__V1__GetClusterStatusResponse.self, grey__v1__get_cluster_status_response__init)

    public init(c: Grey__V1__GetClusterStatusResponse) throws(WireError) {
        self.init(
            nodeID: c.node_id, leaderID: c.leader_id, term: c.term, commitIndex: c.commit_index,
            lastLogIndex: c.last_log_index, appliedIndex: c.applied_index, hasLeader: c.has_leader != 0,
            members: try decodeRepeated(Member.self, count: c.n_members, c.members),
            state: try decodeEnum(MemberState.self, c.state.rawValue, message: "GetClusterStatusResponse", field: "state"),
            snapshotIndex: c.snapshot_index)
    }

    public func makeC(in arena: CArena) -> UnsafeMutablePointer<Grey__V1__GetClusterStatusResponse> {
        let c = arena.message(Grey__V1__GetClusterStatusResponse.self, grey__v1__get_cluster_status_response__init)
        c.pointee.node_id = nodeID
        c.pointee.leader_id = leaderID
        c.pointee.term = term
        c.pointee.commit_index = commitIndex
        c.pointee.last_log_index = lastLogIndex
        c.pointee.applied_index = appliedIndex
        c.pointee.has_leader = hasLeader ? 1 : 0
        (c.pointee.n_members, c.pointee.members) = arena.repeated(members)
        c.pointee.state = Grey__V1__MemberState(rawValue: state.rawValue)
        c.pointee.snapshot_index = snapshotIndex
        return c
    }
}

/// `grey.v1.TransferLeadershipRequest`.
public struct TransferLeadershipRequest: ProtobufMessage {
    public var targetID: UInt64

    public init(targetID: UInt64 = 0) {
        self.targetID = targetID
    }

    public static let descriptor = protobufDescriptor(Grey__V1__TransferLeadershipRequest.self, grey__v1__transfer_leadership_request__init)

    public init(c: Grey__V1__TransferLeadershipRequest) {
        self.init(targetID: c.target_id)
    }

    public func makeC(in arena: CArena) -> UnsafeMutablePointer<Grey__V1__TransferLeadershipRequest> {
        let c = arena.message(Grey__V1__TransferLeadershipRequest.self, grey__v1__transfer_leadership_request__init)
        c.pointee.target_id = targetID
        return c
    }
}

/// `grey.v1.TransferLeadershipResponse`.
public struct TransferLeadershipResponse: ProtobufMessage {
    public var header: ResponseHeader?

    public init(header: ResponseHeader? = nil) {
        self.header = header
    }

    public static let descriptor = protobufDescriptor(Grey__V1__TransferLeadershipResponse.self, grey__v1__transfer_leadership_response__init)

    public init(c: Grey__V1__TransferLeadershipResponse) throws(WireError) {
        self.init(header: try decodeNested(ResponseHeader.self, c.header))
    }

    public func makeC(in arena: CArena) -> UnsafeMutablePointer<Grey__V1__TransferLeadershipResponse> {
        let c = arena.message(Grey__V1__TransferLeadershipResponse.self, grey__v1__transfer_leadership_response__init)
        c.pointee.header = header?.makeC(in: arena)
        return c
    }
}
