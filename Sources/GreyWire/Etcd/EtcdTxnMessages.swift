import GreyProto

// Swift mirrors of etcd's transaction messages (Protos/etcd/etcdserverpb/rpc.proto). A Txn
// may nest Txns, so the op types are indirect enums; protobuf's oneofs become their cases.

extension Etcd {
    /// `etcdserverpb.Compare`: one condition of a Txn, on one key or on every key of a range.
    public struct Compare: ProtobufMessage {
        public enum Result: UInt32, Sendable { case equal = 0, greater = 1, less = 2, notEqual = 3 }
        /// What is compared, with the value it is compared against (the proto's `target` and
        /// `target_union` together; a target whose union is unset compares against zero).
        public enum Target: Sendable, Equatable {
            case version(Int64)
            case createRevision(Int64)
            case modRevision(Int64)
            case value([UInt8])
            case lease(Int64)
        }

        public var result: Result
        public var target: Target
        public var key: [UInt8]
        public var rangeEnd: [UInt8]

        public init(result: Result = .equal, target: Target = .version(0), key: [UInt8] = [], rangeEnd: [UInt8] = []) {
            self.result = result
            self.target = target
            self.key = key
            self.rangeEnd = rangeEnd
        }

        public static let descriptor = protobufDescriptor(Etcdserverpb__Compare.self, etcdserverpb__compare__init)

        public init(c: Etcdserverpb__Compare) throws(WireError) {
            let result = try decodeEnum(Result.self, c.result.rawValue, message: "Compare", field: "result")
            // etcd reads the union by `target` alone; a union set to another field reads as zero there.
            let union = c.target_union_case.rawValue
            func number(_ field: UInt32, _ read: @autoclosure () -> Int64) -> Int64 { union == field ? read() : 0 }
            let target: Target
            switch c.target.rawValue {
            case 0: target = .version(number(4, c.version))
            case 1: target = .createRevision(number(5, c.create_revision))
            case 2: target = .modRevision(number(6, c.mod_revision))
            case 3: target = .value(union == 7 ? [UInt8](c.value) : [])
            case 4: target = .lease(number(8, c.lease))
            default: throw WireError.unknownEnumValue(message: "Compare", field: "target", value: c.target.rawValue)
            }
            self.init(result: result, target: target, key: [UInt8](c.key), rangeEnd: [UInt8](c.range_end))
        }

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__Compare> {
            let c = arena.message(Etcdserverpb__Compare.self, etcdserverpb__compare__init)
            c.pointee.result = Etcdserverpb__Compare__CompareResult(rawValue: result.rawValue)
            c.pointee.key = arena.binary(key)
            c.pointee.range_end = arena.binary(rangeEnd)
            switch target {
            case .version(let number):
                c.pointee.target = Etcdserverpb__Compare__CompareTarget(rawValue: 0)
                c.pointee.target_union_case = Etcdserverpb__Compare__TargetUnionCase(rawValue: 4)
                c.pointee.version = number
            case .createRevision(let number):
                c.pointee.target = Etcdserverpb__Compare__CompareTarget(rawValue: 1)
                c.pointee.target_union_case = Etcdserverpb__Compare__TargetUnionCase(rawValue: 5)
                c.pointee.create_revision = number
            case .modRevision(let number):
                c.pointee.target = Etcdserverpb__Compare__CompareTarget(rawValue: 2)
                c.pointee.target_union_case = Etcdserverpb__Compare__TargetUnionCase(rawValue: 6)
                c.pointee.mod_revision = number
            case .value(let bytes):
                c.pointee.target = Etcdserverpb__Compare__CompareTarget(rawValue: 3)
                c.pointee.target_union_case = Etcdserverpb__Compare__TargetUnionCase(rawValue: 7)
                c.pointee.value = arena.binary(bytes)
            case .lease(let number):
                c.pointee.target = Etcdserverpb__Compare__CompareTarget(rawValue: 4)
                c.pointee.target_union_case = Etcdserverpb__Compare__TargetUnionCase(rawValue: 8)
                c.pointee.lease = number
            }
            return c
        }
    }

    /// `etcdserverpb.RequestOp`: one operation of a Txn branch.
    public indirect enum RequestOp: ProtobufMessage {
        case range(RangeRequest)
        case put(PutRequest)
        case deleteRange(DeleteRangeRequest)
        case txn(TxnRequest)

        public static let descriptor = protobufDescriptor(Etcdserverpb__RequestOp.self, etcdserverpb__request_op__init)

        public init(c: Etcdserverpb__RequestOp) throws(WireError) {
            switch c.request_case.rawValue {
            case 1: guard let p = c.request_range else { break }; self = .range(try RangeRequest(c: p.pointee)); return
            case 2: guard let p = c.request_put else { break }; self = .put(PutRequest(c: p.pointee)); return
            case 3: guard let p = c.request_delete_range else { break }; self = .deleteRange(DeleteRangeRequest(c: p.pointee)); return
            case 4: guard let p = c.request_txn else { break }; self = .txn(try TxnRequest(c: p.pointee)); return
            default: break
            }
            // etcd refuses an op with nothing set the same way.
            throw WireError.malformed("RequestOp with no request set")
        }

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__RequestOp> {
            let c = arena.message(Etcdserverpb__RequestOp.self, etcdserverpb__request_op__init)
            switch self {
            case .range(let request):
                c.pointee.request_case = Etcdserverpb__RequestOp__RequestCase(rawValue: 1)
                c.pointee.request_range = request.makeC(in: arena)
            case .put(let request):
                c.pointee.request_case = Etcdserverpb__RequestOp__RequestCase(rawValue: 2)
                c.pointee.request_put = request.makeC(in: arena)
            case .deleteRange(let request):
                c.pointee.request_case = Etcdserverpb__RequestOp__RequestCase(rawValue: 3)
                c.pointee.request_delete_range = request.makeC(in: arena)
            case .txn(let request):
                c.pointee.request_case = Etcdserverpb__RequestOp__RequestCase(rawValue: 4)
                c.pointee.request_txn = request.makeC(in: arena)
            }
            return c
        }
    }

    /// `etcdserverpb.ResponseOp`: the answer to one RequestOp, in the same place.
    public indirect enum ResponseOp: ProtobufMessage {
        case range(RangeResponse)
        case put(PutResponse)
        case deleteRange(DeleteRangeResponse)
        case txn(TxnResponse)

        public static let descriptor = protobufDescriptor(Etcdserverpb__ResponseOp.self, etcdserverpb__response_op__init)

        public init(c: Etcdserverpb__ResponseOp) throws(WireError) {
            switch c.response_case.rawValue {
            case 1: guard let p = c.response_range else { break }; self = .range(try RangeResponse(c: p.pointee)); return
            case 2: guard let p = c.response_put else { break }; self = .put(try PutResponse(c: p.pointee)); return
            case 3: guard let p = c.response_delete_range else { break }; self = .deleteRange(try DeleteRangeResponse(c: p.pointee)); return
            case 4: guard let p = c.response_txn else { break }; self = .txn(try TxnResponse(c: p.pointee)); return
            default: break
            }
            throw WireError.malformed("ResponseOp with no response set")
        }

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__ResponseOp> {
            let c = arena.message(Etcdserverpb__ResponseOp.self, etcdserverpb__response_op__init)
            switch self {
            case .range(let response):
                c.pointee.response_case = Etcdserverpb__ResponseOp__ResponseCase(rawValue: 1)
                c.pointee.response_range = response.makeC(in: arena)
            case .put(let response):
                c.pointee.response_case = Etcdserverpb__ResponseOp__ResponseCase(rawValue: 2)
                c.pointee.response_put = response.makeC(in: arena)
            case .deleteRange(let response):
                c.pointee.response_case = Etcdserverpb__ResponseOp__ResponseCase(rawValue: 3)
                c.pointee.response_delete_range = response.makeC(in: arena)
            case .txn(let response):
                c.pointee.response_case = Etcdserverpb__ResponseOp__ResponseCase(rawValue: 4)
                c.pointee.response_txn = response.makeC(in: arena)
            }
            return c
        }
    }

    /// `etcdserverpb.TxnRequest`.
    public struct TxnRequest: ProtobufMessage {
        public var compare: [Compare]
        public var success: [RequestOp]
        public var failure: [RequestOp]

        public init(compare: [Compare] = [], success: [RequestOp] = [], failure: [RequestOp] = []) {
            self.compare = compare
            self.success = success
            self.failure = failure
        }

        public static let descriptor = protobufDescriptor(Etcdserverpb__TxnRequest.self, etcdserverpb__txn_request__init)

        public init(c: Etcdserverpb__TxnRequest) throws(WireError) {
            self.init(compare: try decodeRepeated(Compare.self, count: c.n_compare, c.compare),
                      success: try decodeRepeated(RequestOp.self, count: c.n_success, c.success),
                      failure: try decodeRepeated(RequestOp.self, count: c.n_failure, c.failure))
        }

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__TxnRequest> {
            let c = arena.message(Etcdserverpb__TxnRequest.self, etcdserverpb__txn_request__init)
            (c.pointee.n_compare, c.pointee.compare) = arena.repeated(compare)
            (c.pointee.n_success, c.pointee.success) = arena.repeated(success)
            (c.pointee.n_failure, c.pointee.failure) = arena.repeated(failure)
            return c
        }
    }

    /// `etcdserverpb.TxnResponse`.
    public struct TxnResponse: ProtobufMessage {
        public var header: ResponseHeader?
        public var succeeded: Bool
        public var responses: [ResponseOp]

        public init(header: ResponseHeader? = nil, succeeded: Bool = false, responses: [ResponseOp] = []) {
            self.header = header
            self.succeeded = succeeded
            self.responses = responses
        }

        public static let descriptor = protobufDescriptor(Etcdserverpb__TxnResponse.self, etcdserverpb__txn_response__init)

        public init(c: Etcdserverpb__TxnResponse) throws(WireError) {
            self.init(header: try decodeNested(ResponseHeader.self, c.header), succeeded: c.succeeded != 0,
                      responses: try decodeRepeated(ResponseOp.self, count: c.n_responses, c.responses))
        }

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__TxnResponse> {
            let c = arena.message(Etcdserverpb__TxnResponse.self, etcdserverpb__txn_response__init)
            c.pointee.header = header?.makeC(in: arena)
            c.pointee.succeeded = succeeded ? 1 : 0
            (c.pointee.n_responses, c.pointee.responses) = arena.repeated(responses)
            return c
        }
    }
}

extension Etcd.TxnResponse {
    /// This response with `header` on it and on every response inside it, as etcd answers a Txn.
    public func stamped(_ header: Etcd.ResponseHeader) -> Etcd.TxnResponse {
        var response = self
        response.header = header
        response.responses = responses.map { op in
            switch op {
            case .range(var inner): inner.header = header; return .range(inner)
            case .put(var inner): inner.header = header; return .put(inner)
            case .deleteRange(var inner): inner.header = header; return .deleteRange(inner)
            case .txn(let inner): return .txn(inner.stamped(header))
            }
        }
        return response
    }
}

/// The methods of etcd's `etcdserverpb.KV`.
public enum EtcdKVMethods {
    public static let service = "etcdserverpb.KV"
    public static let range = GRPCMethod<Etcd.RangeRequest, Etcd.RangeResponse>(service: service, name: "Range")
    public static let put = GRPCMethod<Etcd.PutRequest, Etcd.PutResponse>(service: service, name: "Put")
    public static let deleteRange = GRPCMethod<Etcd.DeleteRangeRequest, Etcd.DeleteRangeResponse>(service: service, name: "DeleteRange")
    public static let txn = GRPCMethod<Etcd.TxnRequest, Etcd.TxnResponse>(service: service, name: "Txn")
    public static let compact = GRPCMethod<Etcd.CompactionRequest, Etcd.CompactionResponse>(service: service, name: "Compact")
}
