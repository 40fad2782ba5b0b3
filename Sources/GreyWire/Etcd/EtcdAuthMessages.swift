import GreyProto

// Swift mirrors of the etcd Auth messages Grey answers (Protos/etcd/etcdserverpb/rpc.proto).

extension Etcd {
    /// `etcdserverpb.AuthEnableRequest`.
    public struct AuthEnableRequest: ProtobufMessage {
        public init() {}

        public static let descriptor = protobufDescriptor(Etcdserverpb__AuthEnableRequest.self, etcdserverpb__auth_enable_request__init)

        public init(c: Etcdserverpb__AuthEnableRequest) {}

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__AuthEnableRequest> {
            let c = arena.message(Etcdserverpb__AuthEnableRequest.self, etcdserverpb__auth_enable_request__init)
            return c
        }
    }

    /// `etcdserverpb.AuthEnableResponse`.
    public struct AuthEnableResponse: ProtobufMessage {
        public var header: ResponseHeader?

        public init(header: ResponseHeader? = nil) {
            self.header = header
        }

        public static let descriptor = protobufDescriptor(Etcdserverpb__AuthEnableResponse.self, etcdserverpb__auth_enable_response__init)

        public init(c: Etcdserverpb__AuthEnableResponse) throws(WireError) {
            self.init(header: try decodeNested(ResponseHeader.self, c.header))
        }

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__AuthEnableResponse> {
            let c = arena.message(Etcdserverpb__AuthEnableResponse.self, etcdserverpb__auth_enable_response__init)
            c.pointee.header = header?.makeC(in: arena)
            return c
        }
    }

    /// `etcdserverpb.AuthDisableRequest`.
    public struct AuthDisableRequest: ProtobufMessage {
        public init() {}

        public static let descriptor = protobufDescriptor(Etcdserverpb__AuthDisableRequest.self, etcdserverpb__auth_disable_request__init)

        public init(c: Etcdserverpb__AuthDisableRequest) {}

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__AuthDisableRequest> {
            let c = arena.message(Etcdserverpb__AuthDisableRequest.self, etcdserverpb__auth_disable_request__init)
            return c
        }
    }

    /// `etcdserverpb.AuthDisableResponse`.
    public struct AuthDisableResponse: ProtobufMessage {
        public var header: ResponseHeader?

        public init(header: ResponseHeader? = nil) {
            self.header = header
        }

        public static let descriptor = protobufDescriptor(Etcdserverpb__AuthDisableResponse.self, etcdserverpb__auth_disable_response__init)

        public init(c: Etcdserverpb__AuthDisableResponse) throws(WireError) {
            self.init(header: try decodeNested(ResponseHeader.self, c.header))
        }

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__AuthDisableResponse> {
            let c = arena.message(Etcdserverpb__AuthDisableResponse.self, etcdserverpb__auth_disable_response__init)
            c.pointee.header = header?.makeC(in: arena)
            return c
        }
    }

    /// `etcdserverpb.AuthenticateRequest`.
    public struct AuthenticateRequest: ProtobufMessage {
        public var name: String
        public var password: String

        public init(name: String = "", password: String = "") {
            self.name = name
            self.password = password
        }

        public static let descriptor = protobufDescriptor(Etcdserverpb__AuthenticateRequest.self, etcdserverpb__authenticate_request__init)

        public init(c: Etcdserverpb__AuthenticateRequest) {
            self.init(name: String(protobufC: c.name), password: String(protobufC: c.password))
        }

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__AuthenticateRequest> {
            let c = arena.message(Etcdserverpb__AuthenticateRequest.self, etcdserverpb__authenticate_request__init)
            c.pointee.name = arena.string(name)
            c.pointee.password = arena.string(password)
            return c
        }
    }

    /// `etcdserverpb.AuthenticateResponse`.
    public struct AuthenticateResponse: ProtobufMessage {
        public var header: ResponseHeader?
        public var token: String

        public init(header: ResponseHeader? = nil, token: String = "") {
            self.header = header
            self.token = token
        }

        public static let descriptor = protobufDescriptor(Etcdserverpb__AuthenticateResponse.self, etcdserverpb__authenticate_response__init)

        public init(c: Etcdserverpb__AuthenticateResponse) throws(WireError) {
            self.init(header: try decodeNested(ResponseHeader.self, c.header), token: String(protobufC: c.token))
        }

        public func makeC(in arena: CArena) -> UnsafeMutablePointer<Etcdserverpb__AuthenticateResponse> {
            let c = arena.message(Etcdserverpb__AuthenticateResponse.self, etcdserverpb__authenticate_response__init)
            c.pointee.header = header?.makeC(in: arena)
            c.pointee.token = arena.string(token)
            return c
        }
    }
}

/// The methods of etcd's `etcdserverpb.Auth` that Grey answers (the rest are UNIMPLEMENTED).
public enum EtcdAuthMethods {
    public static let service = "etcdserverpb.Auth"
    public static let authEnable = GRPCMethod<Etcd.AuthEnableRequest, Etcd.AuthEnableResponse>(service: service, name: "AuthEnable")
    public static let authDisable = GRPCMethod<Etcd.AuthDisableRequest, Etcd.AuthDisableResponse>(service: service, name: "AuthDisable")
    public static let authenticate = GRPCMethod<Etcd.AuthenticateRequest, Etcd.AuthenticateResponse>(service: service, name: "Authenticate")
}
