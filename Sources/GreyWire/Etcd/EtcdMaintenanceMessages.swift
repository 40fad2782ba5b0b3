import GreyProto

// Swift mirrors of etcd's Maintenance messages (Protos/etcd/etcdserverpb/rpc.proto).

extension Etcd {
    /// `etcdserverpb.AlarmType`.
    public enum AlarmType: UInt32, Sendable {
        case none = 0, noSpace = 1, corrupt = 2

        /// The name etcd prints (`etcdctl alarm list`: "memberID:… alarm:NOSPACE").
        public var name: String {
            switch self {
            case .none: "NONE"
            case .noSpace: "NOSPACE"
            case .corrupt: "CORRUPT"
            }
        }
    }
    /// `etcdserverpb.AlarmRequest.AlarmAction`.
    public enum AlarmAction: UInt32, Sendable { case get = 0, activate = 1, deactivate = 2 }

    /// `etcdserverpb.AlarmRequest`.
    public struct AlarmRequest: ProtobufMessage {
        public var action: AlarmAction
        public var memberID: UInt64
        public var alarm: AlarmType

        public init(action: AlarmAction = .get, memberID: UInt64 = 0, alarm: AlarmType = .none) {
            self.action = action
            self.memberID = memberID
            self.alarm = alarm
        }

        public static let descriptor = protobufDescriptor(Etcdserverpb__AlarmRequest.self, etcdserverpb__alarm_request__init)

        public init(c: Etcdserverpb__AlarmRequest) throws(WireError) {
            self.init(action: try decodeEnum(AlarmAction.self, c.action.rawValue, message: "AlarmRequest", field: "action"), memberID: c.memberid, alarm: try decodeEnum(AlarmType.self, c.alarm.rawValue, message: "AlarmRequest", field: "alarm"))
        }

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__AlarmRequest> {
            let c = arena.message(Etcdserverpb__AlarmRequest.self, etcdserverpb__alarm_request__init)
            c.pointee.action = Etcdserverpb__AlarmRequest__AlarmAction(rawValue: action.rawValue)
            c.pointee.memberid = memberID
            c.pointee.alarm = Etcdserverpb__AlarmType(rawValue: alarm.rawValue)
            return c
        }
    }

    /// `etcdserverpb.AlarmMember`.
    public struct AlarmMember: ProtobufMessage {
        public var memberID: UInt64
        public var alarm: AlarmType

        public init(memberID: UInt64 = 0, alarm: AlarmType = .none) {
            self.memberID = memberID
            self.alarm = alarm
        }

        public static let descriptor = protobufDescriptor(Etcdserverpb__AlarmMember.self, etcdserverpb__alarm_member__init)

        public init(c: Etcdserverpb__AlarmMember) throws(WireError) {
            self.init(memberID: c.memberid, alarm: try decodeEnum(AlarmType.self, c.alarm.rawValue, message: "AlarmMember", field: "alarm"))
        }

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__AlarmMember> {
            let c = arena.message(Etcdserverpb__AlarmMember.self, etcdserverpb__alarm_member__init)
            c.pointee.memberid = memberID
            c.pointee.alarm = Etcdserverpb__AlarmType(rawValue: alarm.rawValue)
            return c
        }
    }

    /// `etcdserverpb.AlarmResponse`.
    public struct AlarmResponse: ProtobufMessage {
        public var header: ResponseHeader?
        public var alarms: [AlarmMember]

        public init(header: ResponseHeader? = nil, alarms: [AlarmMember] = []) {
            self.header = header
            self.alarms = alarms
        }

        public static let descriptor = protobufDescriptor(Etcdserverpb__AlarmResponse.self, etcdserverpb__alarm_response__init)

        public init(c: Etcdserverpb__AlarmResponse) throws(WireError) {
            self.init(header: try decodeNested(ResponseHeader.self, c.header), alarms: try decodeRepeated(AlarmMember.self, count: c.n_alarms, c.alarms))
        }

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__AlarmResponse> {
            let c = arena.message(Etcdserverpb__AlarmResponse.self, etcdserverpb__alarm_response__init)
            c.pointee.header = header?.makeC(in: arena)
            (c.pointee.n_alarms, c.pointee.alarms) = arena.repeated(alarms)
            return c
        }
    }

    /// `etcdserverpb.StatusRequest`.
    public struct StatusRequest: ProtobufMessage {
        public init() {}

        public static let descriptor = protobufDescriptor(Etcdserverpb__StatusRequest.self, etcdserverpb__status_request__init)

        public init(c: Etcdserverpb__StatusRequest) {}

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__StatusRequest> {
            let c = arena.message(Etcdserverpb__StatusRequest.self, etcdserverpb__status_request__init)
            return c
        }
    }

    /// `etcdserverpb.StatusResponse`.
    public struct StatusResponse: ProtobufMessage {
        public var header: ResponseHeader?
        public var version: String
        public var dbSize: Int64
        public var leader: UInt64
        public var raftIndex: UInt64
        public var raftTerm: UInt64
        public var raftAppliedIndex: UInt64
        public var errors: [String]
        public var dbSizeInUse: Int64
        public var isLearner: Bool

        public init(header: ResponseHeader? = nil, version: String = "", dbSize: Int64 = 0, leader: UInt64 = 0, raftIndex: UInt64 = 0, raftTerm: UInt64 = 0, raftAppliedIndex: UInt64 = 0, errors: [String] = [], dbSizeInUse: Int64 = 0, isLearner: Bool = false) {
            self.header = header
            self.version = version
            self.dbSize = dbSize
            self.leader = leader
            self.raftIndex = raftIndex
            self.raftTerm = raftTerm
            self.raftAppliedIndex = raftAppliedIndex
            self.errors = errors
            self.dbSizeInUse = dbSizeInUse
            self.isLearner = isLearner
        }

        public static let descriptor = protobufDescriptor(Etcdserverpb__StatusResponse.self, etcdserverpb__status_response__init)

        public init(c: Etcdserverpb__StatusResponse) throws(WireError) {
            self.init(header: try decodeNested(ResponseHeader.self, c.header), version: String(protobufC: c.version), dbSize: c.dbsize, leader: c.leader, raftIndex: c.raftindex, raftTerm: c.raftterm, raftAppliedIndex: c.raftappliedindex, errors: decodeStrings(count: c.n_errors, c.errors), dbSizeInUse: c.dbsizeinuse, isLearner: c.islearner != 0)
        }

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__StatusResponse> {
            let c = arena.message(Etcdserverpb__StatusResponse.self, etcdserverpb__status_response__init)
            c.pointee.header = header?.makeC(in: arena)
            c.pointee.version = arena.string(version)
            c.pointee.dbsize = dbSize
            c.pointee.leader = leader
            c.pointee.raftindex = raftIndex
            c.pointee.raftterm = raftTerm
            c.pointee.raftappliedindex = raftAppliedIndex
            (c.pointee.n_errors, c.pointee.errors) = arena.strings(errors)
            c.pointee.dbsizeinuse = dbSizeInUse
            c.pointee.islearner = isLearner ? 1 : 0
            return c
        }
    }

    /// `etcdserverpb.DefragmentRequest`.
    public struct DefragmentRequest: ProtobufMessage {
        public init() {}

        public static let descriptor = protobufDescriptor(Etcdserverpb__DefragmentRequest.self, etcdserverpb__defragment_request__init)

        public init(c: Etcdserverpb__DefragmentRequest) {}

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__DefragmentRequest> {
            let c = arena.message(Etcdserverpb__DefragmentRequest.self, etcdserverpb__defragment_request__init)
            return c
        }
    }

    /// `etcdserverpb.DefragmentResponse`.
    public struct DefragmentResponse: ProtobufMessage {
        public var header: ResponseHeader?

        public init(header: ResponseHeader? = nil) {
            self.header = header
        }

        public static let descriptor = protobufDescriptor(Etcdserverpb__DefragmentResponse.self, etcdserverpb__defragment_response__init)

        public init(c: Etcdserverpb__DefragmentResponse) throws(WireError) {
            self.init(header: try decodeNested(ResponseHeader.self, c.header))
        }

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__DefragmentResponse> {
            let c = arena.message(Etcdserverpb__DefragmentResponse.self, etcdserverpb__defragment_response__init)
            c.pointee.header = header?.makeC(in: arena)
            return c
        }
    }

    /// `etcdserverpb.HashRequest`.
    public struct HashRequest: ProtobufMessage {
        public init() {}

        public static let descriptor = protobufDescriptor(Etcdserverpb__HashRequest.self, etcdserverpb__hash_request__init)

        public init(c: Etcdserverpb__HashRequest) {}

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__HashRequest> {
            let c = arena.message(Etcdserverpb__HashRequest.self, etcdserverpb__hash_request__init)
            return c
        }
    }

    /// `etcdserverpb.HashResponse`.
    public struct HashResponse: ProtobufMessage {
        public var header: ResponseHeader?
        public var hash: UInt32

        public init(header: ResponseHeader? = nil, hash: UInt32 = 0) {
            self.header = header
            self.hash = hash
        }

        public static let descriptor = protobufDescriptor(Etcdserverpb__HashResponse.self, etcdserverpb__hash_response__init)

        public init(c: Etcdserverpb__HashResponse) throws(WireError) {
            self.init(header: try decodeNested(ResponseHeader.self, c.header), hash: c.hash)
        }

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__HashResponse> {
            let c = arena.message(Etcdserverpb__HashResponse.self, etcdserverpb__hash_response__init)
            c.pointee.header = header?.makeC(in: arena)
            c.pointee.hash = hash
            return c
        }
    }

    /// `etcdserverpb.HashKVRequest`.
    public struct HashKVRequest: ProtobufMessage {
        public var revision: Int64

        public init(revision: Int64 = 0) {
            self.revision = revision
        }

        public static let descriptor = protobufDescriptor(Etcdserverpb__HashKVRequest.self, etcdserverpb__hash_kvrequest__init)

        public init(c: Etcdserverpb__HashKVRequest) {
            self.init(revision: c.revision)
        }

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__HashKVRequest> {
            let c = arena.message(Etcdserverpb__HashKVRequest.self, etcdserverpb__hash_kvrequest__init)
            c.pointee.revision = revision
            return c
        }
    }

    /// `etcdserverpb.HashKVResponse`.
    public struct HashKVResponse: ProtobufMessage {
        public var header: ResponseHeader?
        public var hash: UInt32
        public var compactRevision: Int64

        public init(header: ResponseHeader? = nil, hash: UInt32 = 0, compactRevision: Int64 = 0) {
            self.header = header
            self.hash = hash
            self.compactRevision = compactRevision
        }

        public static let descriptor = protobufDescriptor(Etcdserverpb__HashKVResponse.self, etcdserverpb__hash_kvresponse__init)

        public init(c: Etcdserverpb__HashKVResponse) throws(WireError) {
            self.init(header: try decodeNested(ResponseHeader.self, c.header), hash: c.hash, compactRevision: c.compact_revision)
        }

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__HashKVResponse> {
            let c = arena.message(Etcdserverpb__HashKVResponse.self, etcdserverpb__hash_kvresponse__init)
            c.pointee.header = header?.makeC(in: arena)
            c.pointee.hash = hash
            c.pointee.compact_revision = compactRevision
            return c
        }
    }

    /// `etcdserverpb.MoveLeaderRequest`.
    public struct MoveLeaderRequest: ProtobufMessage {
        public var targetID: UInt64

        public init(targetID: UInt64 = 0) {
            self.targetID = targetID
        }

        public static let descriptor = protobufDescriptor(Etcdserverpb__MoveLeaderRequest.self, etcdserverpb__move_leader_request__init)

        public init(c: Etcdserverpb__MoveLeaderRequest) {
            self.init(targetID: c.targetid)
        }

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__MoveLeaderRequest> {
            let c = arena.message(Etcdserverpb__MoveLeaderRequest.self, etcdserverpb__move_leader_request__init)
            c.pointee.targetid = targetID
            return c
        }
    }

    /// `etcdserverpb.MoveLeaderResponse`.
    public struct MoveLeaderResponse: ProtobufMessage {
        public var header: ResponseHeader?

        public init(header: ResponseHeader? = nil) {
            self.header = header
        }

        public static let descriptor = protobufDescriptor(Etcdserverpb__MoveLeaderResponse.self, etcdserverpb__move_leader_response__init)

        public init(c: Etcdserverpb__MoveLeaderResponse) throws(WireError) {
            self.init(header: try decodeNested(ResponseHeader.self, c.header))
        }

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__MoveLeaderResponse> {
            let c = arena.message(Etcdserverpb__MoveLeaderResponse.self, etcdserverpb__move_leader_response__init)
            c.pointee.header = header?.makeC(in: arena)
            return c
        }
    }

    /// `etcdserverpb.SnapshotRequest`.
    public struct SnapshotRequest: ProtobufMessage {
        public init() {}

        public static let descriptor = protobufDescriptor(Etcdserverpb__SnapshotRequest.self, etcdserverpb__snapshot_request__init)

        public init(c: Etcdserverpb__SnapshotRequest) {}

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__SnapshotRequest> {
            let c = arena.message(Etcdserverpb__SnapshotRequest.self, etcdserverpb__snapshot_request__init)
            return c
        }
    }

    /// `etcdserverpb.SnapshotResponse`.
    public struct SnapshotResponse: ProtobufMessage {
        public var header: ResponseHeader?
        public var remainingBytes: UInt64
        public var blob: [UInt8]

        public init(header: ResponseHeader? = nil, remainingBytes: UInt64 = 0, blob: [UInt8] = []) {
            self.header = header
            self.remainingBytes = remainingBytes
            self.blob = blob
        }

        public static let descriptor = protobufDescriptor(Etcdserverpb__SnapshotResponse.self, etcdserverpb__snapshot_response__init)

        public init(c: Etcdserverpb__SnapshotResponse) throws(WireError) {
            self.init(header: try decodeNested(ResponseHeader.self, c.header), remainingBytes: c.remaining_bytes, blob: [UInt8](c.blob))
        }

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__SnapshotResponse> {
            let c = arena.message(Etcdserverpb__SnapshotResponse.self, etcdserverpb__snapshot_response__init)
            c.pointee.header = header?.makeC(in: arena)
            c.pointee.remaining_bytes = remainingBytes
            c.pointee.blob = arena.binary(blob)
            return c
        }
    }

}

/// The methods of etcd's `etcdserverpb.Maintenance` (Snapshot, a server stream, is answered as unimplemented).
public enum EtcdMaintenanceMethods {
    public static let service = "etcdserverpb.Maintenance"
    public static let alarm = GRPCMethod<Etcd.AlarmRequest, Etcd.AlarmResponse>(service: service, name: "Alarm")
    public static let status = GRPCMethod<Etcd.StatusRequest, Etcd.StatusResponse>(service: service, name: "Status")
    public static let defragment = GRPCMethod<Etcd.DefragmentRequest, Etcd.DefragmentResponse>(service: service, name: "Defragment")
    public static let hash = GRPCMethod<Etcd.HashRequest, Etcd.HashResponse>(service: service, name: "Hash")
    public static let hashKV = GRPCMethod<Etcd.HashKVRequest, Etcd.HashKVResponse>(service: service, name: "HashKV")
    public static let moveLeader = GRPCMethod<Etcd.MoveLeaderRequest, Etcd.MoveLeaderResponse>(service: service, name: "MoveLeader")
    public static let snapshot = GRPCMethod<Etcd.SnapshotRequest, Etcd.SnapshotResponse>(service: service, name: "Snapshot")
}
