import GreyProto

// Swift mirrors of Protos/grey/v1/kv.proto. Field names follow the proto in lowerCamelCase.

/// How fresh a read must be (`grey.v1.ReadConsistency`).
public enum ReadConsistency: UInt32, Sendable, CaseIterable {
    /// Confirmed with a quorum (ReadIndex).
    case linearizable = 0
    /// Served by the leader within its lease.
    case lease = 1
    /// Served from whatever the answering node has applied.
    case stale = 2
}

/// Who answered a KV call and how far its state machine had got (`grey.v1.ResponseHeader`).
public struct ResponseHeader: ProtobufMessage {
    public var nodeID: UInt64
    public var leaderID: UInt64
    public var hasLeader: Bool
    public var term: UInt64
    public var appliedIndex: UInt64

    public init(nodeID: UInt64 = 0, leaderID: UInt64 = 0, hasLeader: Bool = false, term: UInt64 = 0, appliedIndex: UInt64 = 0) {
        self.nodeID = nodeID
        self.leaderID = leaderID
        self.hasLeader = hasLeader
        self.term = term
        self.appliedIndex = appliedIndex
    }

    public static let descriptor = protobufDescriptor(Grey__V1__ResponseHeader.self, grey__v1__response_header__init)

    public init(c: Grey__V1__ResponseHeader) {
        self.init(nodeID: c.node_id, leaderID: c.leader_id, hasLeader: c.has_leader != 0, term: c.term, appliedIndex: c.applied_index)
    }

    public func makeC(in arena: CArena) -> UnsafeMutablePointer<Grey__V1__ResponseHeader> {
        let c = arena.message(Grey__V1__ResponseHeader.self, grey__v1__response_header__init)
        c.pointee.node_id = nodeID
        c.pointee.leader_id = leaderID
        c.pointee.has_leader = hasLeader ? 1 : 0
        c.pointee.term = term
        c.pointee.applied_index = appliedIndex
        return c
    }
}

/// `grey.v1.PutRequest`.
public struct PutRequest: ProtobufMessage {
    public var key: [UInt8]
    public var value: [UInt8]

    public init(key: [UInt8] = [], value: [UInt8] = []) {
        self.key = key
        self.value = value
    }

    public static let descriptor = protobufDescriptor(Grey__V1__PutRequest.self, grey__v1__put_request__init)

    public init(c: Grey__V1__PutRequest) {
        self.init(key: [UInt8](c.key), value: [UInt8](c.value))
    }

    public func makeC(in arena: CArena) -> UnsafeMutablePointer<Grey__V1__PutRequest> {
        let c = arena.message(Grey__V1__PutRequest.self, grey__v1__put_request__init)
        c.pointee.key = arena.binary(key)
        c.pointee.value = arena.binary(value)
        return c
    }
}

/// `grey.v1.PutResponse`.
public struct PutResponse: ProtobufMessage {
    public var header: ResponseHeader?

    public init(header: ResponseHeader? = nil) {
        self.header = header
    }

    public static let descriptor = protobufDescriptor(Grey__V1__PutResponse.self, grey__v1__put_response__init)

    public init(c: Grey__V1__PutResponse) throws(WireError) {
        self.init(header: try decodeNested(ResponseHeader.self, c.header))
    }

    public func makeC(in arena: CArena) -> UnsafeMutablePointer<Grey__V1__PutResponse> {
        let c = arena.message(Grey__V1__PutResponse.self, grey__v1__put_response__init)
        c.pointee.header = header?.makeC(in: arena)
        return c
    }
}

/// `grey.v1.GetRequest`.
public struct GetRequest: ProtobufMessage {
    public var key: [UInt8]
    public var consistency: ReadConsistency

    public init(key: [UInt8] = [], consistency: ReadConsistency = .linearizable) {
        self.key = key
        self.consistency = consistency
    }

    public static let descriptor = protobufDescriptor(Grey__V1__GetRequest.self, grey__v1__get_request__init)

    public init(c: Grey__V1__GetRequest) throws(WireError) {
        self.init(
            key: [UInt8](c.key),
            consistency: try decodeEnum(ReadConsistency.self, c.consistency.rawValue, message: "GetRequest", field: "consistency"))
    }

    public func makeC(in arena: CArena) -> UnsafeMutablePointer<Grey__V1__GetRequest> {
        let c = arena.message(Grey__V1__GetRequest.self, grey__v1__get_request__init)
        c.pointee.key = arena.binary(key)
        c.pointee.consistency = Grey__V1__ReadConsistency(rawValue: consistency.rawValue)
        return c
    }
}

/// `grey.v1.GetResponse`.
public struct GetResponse: ProtobufMessage {
    public var header: ResponseHeader?
    public var found: Bool
    public var value: [UInt8]

    public init(header: ResponseHeader? = nil, found: Bool = false, value: [UInt8] = []) {
        self.header = header
        self.found = found
        self.value = value
    }

    public static let descriptor = protobufDescriptor(Grey__V1__GetResponse.self, grey__v1__get_response__init)

    public init(c: Grey__V1__GetResponse) throws(WireError) {
        self.init(header: try decodeNested(ResponseHeader.self, c.header), found: c.found != 0, value: [UInt8](c.value))
    }

    public func makeC(in arena: CArena) -> UnsafeMutablePointer<Grey__V1__GetResponse> {
        let c = arena.message(Grey__V1__GetResponse.self, grey__v1__get_response__init)
        c.pointee.header = header?.makeC(in: arena)
        c.pointee.found = found ? 1 : 0
        c.pointee.value = arena.binary(value)
        return c
    }
}

/// `grey.v1.DeleteRequest`.
public struct DeleteRequest: ProtobufMessage {
    public var key: [UInt8]

    public init(key: [UInt8] = []) {
        self.key = key
    }

    public static let descriptor = protobufDescriptor(Grey__V1__DeleteRequest.self, grey__v1__delete_request__init)

    public init(c: Grey__V1__DeleteRequest) {
        self.init(key: [UInt8](c.key))
    }

    public func makeC(in arena: CArena) -> UnsafeMutablePointer<Grey__V1__DeleteRequest> {
        let c = arena.message(Grey__V1__DeleteRequest.self, grey__v1__delete_request__init)
        c.pointee.key = arena.binary(key)
        return c
    }
}

/// `grey.v1.DeleteResponse`.
public struct DeleteResponse: ProtobufMessage {
    public var header: ResponseHeader?
    /// Whether the key existed before the delete.
    public var deleted: Bool

    public init(header: ResponseHeader? = nil, deleted: Bool = false) {
        self.header = header
        self.deleted = deleted
    }

    public static let descriptor = protobufDescriptor(Grey__V1__DeleteResponse.self, grey__v1__delete_response__init)

    public init(c: Grey__V1__DeleteResponse) throws(WireError) {
        self.init(header: try decodeNested(ResponseHeader.self, c.header), deleted: c.deleted != 0)
    }

    public func makeC(in arena: CArena) -> UnsafeMutablePointer<Grey__V1__DeleteResponse> {
        let c = arena.message(Grey__V1__DeleteResponse.self, grey__v1__delete_response__init)
        c.pointee.header = header?.makeC(in: arena)
        c.pointee.deleted = deleted ? 1 : 0
        return c
    }
}

/// `grey.v1.CompareAndSwapRequest`.
public struct CompareAndSwapRequest: ProtobufMessage {
    public var key: [UInt8]
    public var expectedValue: [UInt8]
    public var expectAbsent: Bool
    public var newValue: [UInt8]

    public init(key: [UInt8] = [], expectedValue: [UInt8] = [], expectAbsent: Bool = false, newValue: [UInt8] = []) {
        self.key = key
        self.expectedValue = expectedValue
        self.expectAbsent = expectAbsent
        self.newValue = newValue
    }

    public static let descriptor = protobufDescriptor(Grey__V1__CompareAndSwapRequest.self, grey__v1__compare_and_swap_request__init)

    public init(c: Grey__V1__CompareAndSwapRequest) {
        self.init(
            key: [UInt8](c.key), expectedValue: [UInt8](c.expected_value),
            expectAbsent: c.expect_absent != 0, newValue: [UInt8](c.new_value))
    }

    public func makeC(in arena: CArena) -> UnsafeMutablePointer<Grey__V1__CompareAndSwapRequest> {
        let c = arena.message(Grey__V1__CompareAndSwapRequest.self, grey__v1__compare_and_swap_request__init)
        c.pointee.key = arena.binary(key)
        c.pointee.expected_value = arena.binary(expectedValue)
        c.pointee.expect_absent = expectAbsent ? 1 : 0
        c.pointee.new_value = arena.binary(newValue)
        return c
    }
}

/// `grey.v1.CompareAndSwapResponse`.
public struct CompareAndSwapResponse: ProtobufMessage {
    public var header: ResponseHeader?
    public var succeeded: Bool
    public var currentFound: Bool
    public var currentValue: [UInt8]

    public init(header: ResponseHeader? = nil, succeeded: Bool = false, currentFound: Bool = false, currentValue: [UInt8] = []) {
        self.header = header
        self.succeeded = succeeded
        self.currentFound = currentFound
        self.currentValue = currentValue
    }

    public static let descriptor = protobufDescriptor(Grey__V1__CompareAndSwapResponse.self, grey__v1__compare_and_swap_response__init)

    public init(c: Grey__V1__CompareAndSwapResponse) throws(WireError) {
        self.init(
            header: try decodeNested(ResponseHeader.self, c.header), succeeded: c.succeeded != 0,
            currentFound: c.current_found != 0, currentValue: [UInt8](c.current_value))
    }

    public func makeC(in arena: CArena) -> UnsafeMutablePointer<Grey__V1__CompareAndSwapResponse> {
        let c = arena.message(Grey__V1__CompareAndSwapResponse.self, grey__v1__compare_and_swap_response__init)
        c.pointee.header = header?.makeC(in: arena)
        c.pointee.succeeded = succeeded ? 1 : 0
        c.pointee.current_found = currentFound ? 1 : 0
        c.pointee.current_value = arena.binary(currentValue)
        return c
    }
}
