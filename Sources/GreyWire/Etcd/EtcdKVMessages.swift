import GreyProto

// Swift mirrors of etcd's KV messages (Protos/etcd/etcdserverpb/rpc.proto, mvccpb/kv.proto),
// in the `Etcd` namespace so they sit beside grey.v1's types of the same names.

/// etcd's v3 API types (packages etcdserverpb and mvccpb).
public enum Etcd {}

extension Etcd {
    /// `etcdserverpb.ResponseHeader`: who answered, at which revision and Raft term.
    public struct ResponseHeader: ProtobufMessage {
        public var clusterID: UInt64
        public var memberID: UInt64
        public var revision: Int64
        public var raftTerm: UInt64

        public init(clusterID: UInt64 = 0, memberID: UInt64 = 0, revision: Int64 = 0, raftTerm: UInt64 = 0) {
            self.clusterID = clusterID
            self.memberID = memberID
            self.revision = revision
            self.raftTerm = raftTerm
        }

        public static let descriptor = protobufDescriptor(Etcdserverpb__ResponseHeader.self, etcdserverpb__response_header__init)

        public init(c: Etcdserverpb__ResponseHeader) {
            self.init(clusterID: c.cluster_id, memberID: c.member_id, revision: c.revision, raftTerm: c.raft_term)
        }

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__ResponseHeader> {
            let c = arena.message(Etcdserverpb__ResponseHeader.self, etcdserverpb__response_header__init)
            c.pointee.cluster_id = clusterID
            c.pointee.member_id = memberID
            c.pointee.revision = revision
            c.pointee.raft_term = raftTerm
            return c
        }
    }

    /// `mvccpb.KeyValue`: a key as of one revision.
    public struct KeyValue: ProtobufMessage, Hashable {
        public var key: [UInt8]
        public var createRevision: Int64
        public var modRevision: Int64
        public var version: Int64
        public var value: [UInt8]
        public var lease: Int64

        public init(key: [UInt8] = [], createRevision: Int64 = 0, modRevision: Int64 = 0, version: Int64 = 0, value: [UInt8] = [], lease: Int64 = 0) {
            self.key = key
            self.createRevision = createRevision
            self.modRevision = modRevision
            self.version = version
            self.value = value
            self.lease = lease
        }

        public static let descriptor = protobufDescriptor(Mvccpb__KeyValue.self, mvccpb__key_value__init)

        public init(c: Mvccpb__KeyValue) {
            self.init(key: [UInt8](c.key), createRevision: c.create_revision, modRevision: c.mod_revision, version: c.version,
                      value: [UInt8](c.value), lease: c.lease)
        }

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Mvccpb__KeyValue> {
            let c = arena.message(Mvccpb__KeyValue.self, mvccpb__key_value__init)
            c.pointee.key = arena.binary(key)
            c.pointee.create_revision = createRevision
            c.pointee.mod_revision = modRevision
            c.pointee.version = version
            c.pointee.value = arena.binary(value)
            c.pointee.lease = lease
            return c
        }
    }

    /// `etcdserverpb.RangeRequest`.
    public struct RangeRequest: ProtobufMessage {
        public enum SortOrder: UInt32, Sendable { case none = 0, ascend = 1, descend = 2 }
        public enum SortTarget: UInt32, Sendable { case key = 0, version = 1, create = 2, mod = 3, value = 4 }

        public var key: [UInt8]
        public var rangeEnd: [UInt8]
        public var limit: Int64
        public var revision: Int64
        public var sortOrder: SortOrder
        public var sortTarget: SortTarget
        public var serializable: Bool
        public var keysOnly: Bool
        public var countOnly: Bool
        public var minModRevision: Int64
        public var maxModRevision: Int64
        public var minCreateRevision: Int64
        public var maxCreateRevision: Int64

        public init(key: [UInt8] = [], rangeEnd: [UInt8] = [], limit: Int64 = 0, revision: Int64 = 0, sortOrder: SortOrder = .none,
                    sortTarget: SortTarget = .key, serializable: Bool = false, keysOnly: Bool = false, countOnly: Bool = false,
                    minModRevision: Int64 = 0, maxModRevision: Int64 = 0, minCreateRevision: Int64 = 0, maxCreateRevision: Int64 = 0) {
            self.key = key
            self.rangeEnd = rangeEnd
            self.limit = limit
            self.revision = revision
            self.sortOrder = sortOrder
            self.sortTarget = sortTarget
            self.serializable = serializable
            self.keysOnly = keysOnly
            self.countOnly = countOnly
            self.minModRevision = minModRevision
            self.maxModRevision = maxModRevision
            self.minCreateRevision = minCreateRevision
            self.maxCreateRevision = maxCreateRevision
        }

        public static let descriptor = protobufDescriptor(Etcdserverpb__RangeRequest.self, etcdserverpb__range_request__init)

        public init(c: Etcdserverpb__RangeRequest) throws(WireError) {
            self.init(
                key: [UInt8](c.key), rangeEnd: [UInt8](c.range_end), limit: c.limit, revision: c.revision,
                sortOrder: try decodeEnum(SortOrder.self, c.sort_order.rawValue, message: "RangeRequest", field: "sort_order"),
                sortTarget: try decodeEnum(SortTarget.self, c.sort_target.rawValue, message: "RangeRequest", field: "sort_target"),
                serializable: c.serializable != 0, keysOnly: c.keys_only != 0, countOnly: c.count_only != 0,
                minModRevision: c.min_mod_revision, maxModRevision: c.max_mod_revision,
                minCreateRevision: c.min_create_revision, maxCreateRevision: c.max_create_revision)
        }

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__RangeRequest> {
            let c = arena.message(Etcdserverpb__RangeRequest.self, etcdserverpb__range_request__init)
            c.pointee.key = arena.binary(key)
            c.pointee.range_end = arena.binary(rangeEnd)
            c.pointee.limit = limit
            c.pointee.revision = revision
            c.pointee.sort_order = Etcdserverpb__RangeRequest__SortOrder(rawValue: sortOrder.rawValue)
            c.pointee.sort_target = Etcdserverpb__RangeRequest__SortTarget(rawValue: sortTarget.rawValue)
            c.pointee.serializable = serializable ? 1 : 0
            c.pointee.keys_only = keysOnly ? 1 : 0
            c.pointee.count_only = countOnly ? 1 : 0
            c.pointee.min_mod_revision = minModRevision
            c.pointee.max_mod_revision = maxModRevision
            c.pointee.min_create_revision = minCreateRevision
            c.pointee.max_create_revision = maxCreateRevision
            return c
        }
    }

    /// `etcdserverpb.RangeResponse`.
    public struct RangeResponse: ProtobufMessage {
        public var header: ResponseHeader?
        public var kvs: [KeyValue]
        public var more: Bool
        public var count: Int64

        public init(header: ResponseHeader? = nil, kvs: [KeyValue] = [], more: Bool = false, count: Int64 = 0) {
            self.header = header
            self.kvs = kvs
            self.more = more
            self.count = count
        }

        public static let descriptor = protobufDescriptor(Etcdserverpb__RangeResponse.self, etcdserverpb__range_response__init)

        public init(c: Etcdserverpb__RangeResponse) throws(WireError) {
            self.init(header: try decodeNested(ResponseHeader.self, c.header), kvs: try decodeRepeated(KeyValue.self, count: c.n_kvs, c.kvs),
                      more: c.more != 0, count: c.count)
        }

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__RangeResponse> {
            let c = arena.message(Etcdserverpb__RangeResponse.self, etcdserverpb__range_response__init)
            c.pointee.header = header?.makeC(in: arena)
            (c.pointee.n_kvs, c.pointee.kvs) = arena.repeated(kvs)
            c.pointee.more = more ? 1 : 0
            c.pointee.count = count
            return c
        }
    }

    /// `etcdserverpb.PutRequest`.
    public struct PutRequest: ProtobufMessage {
        public var key: [UInt8]
        public var value: [UInt8]
        public var lease: Int64
        public var prevKV: Bool
        public var ignoreValue: Bool
        public var ignoreLease: Bool

        public init(key: [UInt8] = [], value: [UInt8] = [], lease: Int64 = 0, prevKV: Bool = false, ignoreValue: Bool = false, ignoreLease: Bool = false) {
            self.key = key
            self.value = value
            self.lease = lease
            self.prevKV = prevKV
            self.ignoreValue = ignoreValue
            self.ignoreLease = ignoreLease
        }

        public static let descriptor = protobufDescriptor(Etcdserverpb__PutRequest.self, etcdserverpb__put_request__init)

        public init(c: Etcdserverpb__PutRequest) {
            self.init(key: [UInt8](c.key), value: [UInt8](c.value), lease: c.lease, prevKV: c.prev_kv != 0,
                      ignoreValue: c.ignore_value != 0, ignoreLease: c.ignore_lease != 0)
        }

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__PutRequest> {
            let c = arena.message(Etcdserverpb__PutRequest.self, etcdserverpb__put_request__init)
            c.pointee.key = arena.binary(key)
            c.pointee.value = arena.binary(value)
            c.pointee.lease = lease
            c.pointee.prev_kv = prevKV ? 1 : 0
            c.pointee.ignore_value = ignoreValue ? 1 : 0
            c.pointee.ignore_lease = ignoreLease ? 1 : 0
            return c
        }
    }

    /// `etcdserverpb.PutResponse`.
    public struct PutResponse: ProtobufMessage {
        public var header: ResponseHeader?
        public var prevKV: KeyValue?

        public init(header: ResponseHeader? = nil, prevKV: KeyValue? = nil) {
            self.header = header
            self.prevKV = prevKV
        }

        public static let descriptor = protobufDescriptor(Etcdserverpb__PutResponse.self, etcdserverpb__put_response__init)

        public init(c: Etcdserverpb__PutResponse) throws(WireError) {
            self.init(header: try decodeNested(ResponseHeader.self, c.header), prevKV: try decodeNested(KeyValue.self, c.prev_kv))
        }

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__PutResponse> {
            let c = arena.message(Etcdserverpb__PutResponse.self, etcdserverpb__put_response__init)
            c.pointee.header = header?.makeC(in: arena)
            c.pointee.prev_kv = prevKV?.makeC(in: arena)
            return c
        }
    }

    /// `etcdserverpb.DeleteRangeRequest`.
    public struct DeleteRangeRequest: ProtobufMessage {
        public var key: [UInt8]
        public var rangeEnd: [UInt8]
        public var prevKV: Bool

        public init(key: [UInt8] = [], rangeEnd: [UInt8] = [], prevKV: Bool = false) {
            self.key = key
            self.rangeEnd = rangeEnd
            self.prevKV = prevKV
        }

        public static let descriptor = protobufDescriptor(Etcdserverpb__DeleteRangeRequest.self, etcdserverpb__delete_range_request__init)

        public init(c: Etcdserverpb__DeleteRangeRequest) {
            self.init(key: [UInt8](c.key), rangeEnd: [UInt8](c.range_end), prevKV: c.prev_kv != 0)
        }

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__DeleteRangeRequest> {
            let c = arena.message(Etcdserverpb__DeleteRangeRequest.self, etcdserverpb__delete_range_request__init)
            c.pointee.key = arena.binary(key)
            c.pointee.range_end = arena.binary(rangeEnd)
            c.pointee.prev_kv = prevKV ? 1 : 0
            return c
        }
    }

    /// `etcdserverpb.DeleteRangeResponse`.
    public struct DeleteRangeResponse: ProtobufMessage {
        public var header: ResponseHeader?
        public var deleted: Int64
        public var prevKVs: [KeyValue]

        public init(header: ResponseHeader? = nil, deleted: Int64 = 0, prevKVs: [KeyValue] = []) {
            self.header = header
            self.deleted = deleted
            self.prevKVs = prevKVs
        }

        public static let descriptor = protobufDescriptor(Etcdserverpb__DeleteRangeResponse.self, etcdserverpb__delete_range_response__init)

        public init(c: Etcdserverpb__DeleteRangeResponse) throws(WireError) {
            self.init(header: try decodeNested(ResponseHeader.self, c.header), deleted: c.deleted,
                      prevKVs: try decodeRepeated(KeyValue.self, count: c.n_prev_kvs, c.prev_kvs))
        }

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__DeleteRangeResponse> {
            let c = arena.message(Etcdserverpb__DeleteRangeResponse.self, etcdserverpb__delete_range_response__init)
            c.pointee.header = header?.makeC(in: arena)
            c.pointee.deleted = deleted
            (c.pointee.n_prev_kvs, c.pointee.prev_kvs) = arena.repeated(prevKVs)
            return c
        }
    }

    /// `etcdserverpb.CompactionRequest`.
    public struct CompactionRequest: ProtobufMessage {
        public var revision: Int64
        public var physical: Bool

        public init(revision: Int64 = 0, physical: Bool = false) {
            self.revision = revision
            self.physical = physical
        }

        public static let descriptor = protobufDescriptor(Etcdserverpb__CompactionRequest.self, etcdserverpb__compaction_request__init)

        public init(c: Etcdserverpb__CompactionRequest) {
            self.init(revision: c.revision, physical: c.physical != 0)
        }

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__CompactionRequest> {
            let c = arena.message(Etcdserverpb__CompactionRequest.self, etcdserverpb__compaction_request__init)
            c.pointee.revision = revision
            c.pointee.physical = physical ? 1 : 0
            return c
        }
    }

    /// `etcdserverpb.CompactionResponse`.
    public struct CompactionResponse: ProtobufMessage {
        public var header: ResponseHeader?

        public init(header: ResponseHeader? = nil) {
            self.header = header
        }

        public static let descriptor = protobufDescriptor(Etcdserverpb__CompactionResponse.self, etcdserverpb__compaction_response__init)

        public init(c: Etcdserverpb__CompactionResponse) throws(WireError) {
            self.init(header: try decodeNested(ResponseHeader.self, c.header))
        }

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__CompactionResponse> {
            let c = arena.message(Etcdserverpb__CompactionResponse.self, etcdserverpb__compaction_response__init)
            c.pointee.header = header?.makeC(in: arena)
            return c
        }
    }
}
