import GreyProto

// Swift mirrors of etcd's Cluster messages (Protos/etcd/etcdserverpb/rpc.proto).

extension Etcd {
    /// `etcdserverpb.Member`.
    public struct Member: ProtobufMessage {
        public var id: UInt64
        public var name: String
        public var peerURLs: [String]
        public var clientURLs: [String]
        public var isLearner: Bool

        public init(id: UInt64 = 0, name: String = "", peerURLs: [String] = [], clientURLs: [String] = [], isLearner: Bool = false) {
            self.id = id
            self.name = name
            self.peerURLs = peerURLs
            self.clientURLs = clientURLs
            self.isLearner = isLearner
        }

        public static let descriptor = protobufDescriptor(Etcdserverpb__Member.self, etcdserverpb__member__init)

        public init(c: Etcdserverpb__Member) {
            self.init(id: c.id, name: String(protobufC: c.name), peerURLs: decodeStrings(count: c.n_peerurls, c.peerurls), clientURLs: decodeStrings(count: c.n_clienturls, c.clienturls), isLearner: c.islearner != 0)
        }

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__Member> {
            let c = arena.message(Etcdserverpb__Member.self, etcdserverpb__member__init)
            c.pointee.id = id
            c.pointee.name = arena.string(name)
            (c.pointee.n_peerurls, c.pointee.peerurls) = arena.strings(peerURLs)
            (c.pointee.n_clienturls, c.pointee.clienturls) = arena.strings(clientURLs)
            c.pointee.islearner = isLearner ? 1 : 0
            return c
        }
    }

    /// `etcdserverpb.MemberAddRequest`.
    public struct MemberAddRequest: ProtobufMessage {
        public var peerURLs: [String]
        public var isLearner: Bool

        public init(peerURLs: [String] = [], isLearner: Bool = false) {
            self.peerURLs = peerURLs
            self.isLearner = isLearner
        }

        public static let descriptor = protobufDescriptor(Etcdserverpb__MemberAddRequest.self, etcdserverpb__member_add_request__init)

        public init(c: Etcdserverpb__MemberAddRequest) {
            self.init(peerURLs: decodeStrings(count: c.n_peerurls, c.peerurls), isLearner: c.islearner != 0)
        }

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__MemberAddRequest> {
            let c = arena.message(Etcdserverpb__MemberAddRequest.self, etcdserverpb__member_add_request__init)
            (c.pointee.n_peerurls, c.pointee.peerurls) = arena.strings(peerURLs)
            c.pointee.islearner = isLearner ? 1 : 0
            return c
        }
    }

    /// `etcdserverpb.MemberAddResponse`.
    public struct MemberAddResponse: ProtobufMessage {
        public var header: ResponseHeader?
        public var member: Member?
        public var members: [Member]

        public init(header: ResponseHeader? = nil, member: Member? = nil, members: [Member] = []) {
            self.header = header
            self.member = member
            self.members = members
        }

        public static let descriptor = protobufDescriptor(Etcdserverpb__MemberAddResponse.self, etcdserverpb__member_add_response__init)

        public init(c: Etcdserverpb__MemberAddResponse) throws(WireError) {
            self.init(header: try decodeNested(ResponseHeader.self, c.header), member: try decodeNested(Member.self, c.member), members: try decodeRepeated(Member.self, count: c.n_members, c.members))
        }

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__MemberAddResponse> {
            let c = arena.message(Etcdserverpb__MemberAddResponse.self, etcdserverpb__member_add_response__init)
            c.pointee.header = header?.makeC(in: arena)
            c.pointee.member = member?.makeC(in: arena)
            (c.pointee.n_members, c.pointee.members) = arena.repeated(members)
            return c
        }
    }

    /// `etcdserverpb.MemberRemoveRequest`.
    public struct MemberRemoveRequest: ProtobufMessage {
        public var id: UInt64

        public init(id: UInt64 = 0) {
            self.id = id
        }

        public static let descriptor = protobufDescriptor(Etcdserverpb__MemberRemoveRequest.self, etcdserverpb__member_remove_request__init)

        public init(c: Etcdserverpb__MemberRemoveRequest) {
            self.init(id: c.id)
        }

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__MemberRemoveRequest> {
            let c = arena.message(Etcdserverpb__MemberRemoveRequest.self, etcdserverpb__member_remove_request__init)
            c.pointee.id = id
            return c
        }
    }

    /// `etcdserverpb.MemberRemoveResponse`.
    public struct MemberRemoveResponse: ProtobufMessage {
        public var header: ResponseHeader?
        public var members: [Member]

        public init(header: ResponseHeader? = nil, members: [Member] = []) {
            self.header = header
            self.members = members
        }

        public static let descriptor = protobufDescriptor(Etcdserverpb__MemberRemoveResponse.self, etcdserverpb__member_remove_response__init)

        public init(c: Etcdserverpb__MemberRemoveResponse) throws(WireError) {
            self.init(header: try decodeNested(ResponseHeader.self, c.header), members: try decodeRepeated(Member.self, count: c.n_members, c.members))
        }

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__MemberRemoveResponse> {
            let c = arena.message(Etcdserverpb__MemberRemoveResponse.self, etcdserverpb__member_remove_response__init)
            c.pointee.header = header?.makeC(in: arena)
            (c.pointee.n_members, c.pointee.members) = arena.repeated(members)
            return c
        }
    }

    /// `etcdserverpb.MemberUpdateRequest`.
    public struct MemberUpdateRequest: ProtobufMessage {
        public var id: UInt64
        public var peerURLs: [String]

        public init(id: UInt64 = 0, peerURLs: [String] = []) {
            self.id = id
            self.peerURLs = peerURLs
        }

        public static let descriptor = protobufDescriptor(Etcdserverpb__MemberUpdateRequest.self, etcdserverpb__member_update_request__init)

        public init(c: Etcdserverpb__MemberUpdateRequest) {
            self.init(id: c.id, peerURLs: decodeStrings(count: c.n_peerurls, c.peerurls))
        }

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__MemberUpdateRequest> {
            let c = arena.message(Etcdserverpb__MemberUpdateRequest.self, etcdserverpb__member_update_request__init)
            c.pointee.id = id
            (c.pointee.n_peerurls, c.pointee.peerurls) = arena.strings(peerURLs)
            return c
        }
    }

    /// `etcdserverpb.MemberUpdateResponse`.
    public struct MemberUpdateResponse: ProtobufMessage {
        public var header: ResponseHeader?
        public var members: [Member]

        public init(header: ResponseHeader? = nil, members: [Member] = []) {
            self.header = header
            self.members = members
        }

        public static let descriptor = protobufDescriptor(Etcdserverpb__MemberUpdateResponse.self, etcdserverpb__member_update_response__init)

        public init(c: Etcdserverpb__MemberUpdateResponse) throws(WireError) {
            self.init(header: try decodeNested(ResponseHeader.self, c.header), members: try decodeRepeated(Member.self, count: c.n_members, c.members))
        }

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__MemberUpdateResponse> {
            let c = arena.message(Etcdserverpb__MemberUpdateResponse.self, etcdserverpb__member_update_response__init)
            c.pointee.header = header?.makeC(in: arena)
            (c.pointee.n_members, c.pointee.members) = arena.repeated(members)
            return c
        }
    }

    /// `etcdserverpb.MemberListRequest`.
    public struct MemberListRequest: ProtobufMessage {
        public init() {}

        public static let descriptor = protobufDescriptor(Etcdserverpb__MemberListRequest.self, etcdserverpb__member_list_request__init)

        public init(c: Etcdserverpb__MemberListRequest) {}

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__MemberListRequest> {
            let c = arena.message(Etcdserverpb__MemberListRequest.self, etcdserverpb__member_list_request__init)
            return c
        }
    }

    /// `etcdserverpb.MemberListResponse`.
    public struct MemberListResponse: ProtobufMessage {
        public var header: ResponseHeader?
        public var members: [Member]

        public init(header: ResponseHeader? = nil, members: [Member] = []) {
            self.header = header
            self.members = members
        }

        public static let descriptor = protobufDescriptor(Etcdserverpb__MemberListResponse.self, etcdserverpb__member_list_response__init)

        public init(c: Etcdserverpb__MemberListResponse) throws(WireError) {
            self.init(header: try decodeNested(ResponseHeader.self, c.header), members: try decodeRepeated(Member.self, count: c.n_members, c.members))
        }

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__MemberListResponse> {
            let c = arena.message(Etcdserverpb__MemberListResponse.self, etcdserverpb__member_list_response__init)
            c.pointee.header = header?.makeC(in: arena)
            (c.pointee.n_members, c.pointee.members) = arena.repeated(members)
            return c
        }
    }

    /// `etcdserverpb.MemberPromoteRequest`.
    public struct MemberPromoteRequest: ProtobufMessage {
        public var id: UInt64

        public init(id: UInt64 = 0) {
            self.id = id
        }

        public static let descriptor = protobufDescriptor(Etcdserverpb__MemberPromoteRequest.self, etcdserverpb__member_promote_request__init)

        public init(c: Etcdserverpb__MemberPromoteRequest) {
            self.init(id: c.id)
        }

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__MemberPromoteRequest> {
            let c = arena.message(Etcdserverpb__MemberPromoteRequest.self, etcdserverpb__member_promote_request__init)
            c.pointee.id = id
            return c
        }
    }

    /// `etcdserverpb.MemberPromoteResponse`.
    public struct MemberPromoteResponse: ProtobufMessage {
        public var header: ResponseHeader?
        public var members: [Member]

        public init(header: ResponseHeader? = nil, members: [Member] = []) {
            self.header = header
            self.members = members
        }

        public static let descriptor = protobufDescriptor(Etcdserverpb__MemberPromoteResponse.self, etcdserverpb__member_promote_response__init)

        public init(c: Etcdserverpb__MemberPromoteResponse) throws(WireError) {
            self.init(header: try decodeNested(ResponseHeader.self, c.header), members: try decodeRepeated(Member.self, count: c.n_members, c.members))
        }

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__MemberPromoteResponse> {
            let c = arena.message(Etcdserverpb__MemberPromoteResponse.self, etcdserverpb__member_promote_response__init)
            c.pointee.header = header?.makeC(in: arena)
            (c.pointee.n_members, c.pointee.members) = arena.repeated(members)
            return c
        }
    }
}

/// The methods of etcd's `etcdserverpb.Cluster`.
public enum EtcdClusterMethods {
    public static let service = "etcdserverpb.Cluster"
    public static let memberAdd = GRPCMethod<Etcd.MemberAddRequest, Etcd.MemberAddResponse>(service: service, name: "MemberAdd")
    public static let memberRemove = GRPCMethod<Etcd.MemberRemoveRequest, Etcd.MemberRemoveResponse>(service: service, name: "MemberRemove")
    public static let memberUpdate = GRPCMethod<Etcd.MemberUpdateRequest, Etcd.MemberUpdateResponse>(service: service, name: "MemberUpdate")
    public static let memberList = GRPCMethod<Etcd.MemberListRequest, Etcd.MemberListResponse>(service: service, name: "MemberList")
    public static let memberPromote = GRPCMethod<Etcd.MemberPromoteRequest, Etcd.MemberPromoteResponse>(service: service, name: "MemberPromote")
}
