import GreyRPC
import GreyWire

/// etcd's `etcdserverpb.Auth`, answered as an etcd with authentication disabled: Grey has no
/// users or roles (TLS client certificates from the cluster CA guard membership and Raft).
/// Authenticate gets etcd's "authentication is not enabled", disabling it is a no-op, and
/// enabling it is refused with the reason; user and role calls are UNIMPLEMENTED.
enum EtcdAuthService {
    static func register(on router: inout GRPCRouter, handle: NodeHandle) {
        router.register(EtcdAuthMethods.authenticate) { _, _ in
            throw GRPCStatus(.failedPrecondition, "etcdserver: authentication is not enabled")
        }
        router.register(EtcdAuthMethods.authDisable) { _, _ in
            let node = try handle.node()
            return Etcd.AuthDisableResponse(header: await node.etcdHeader())
        }
        router.register(EtcdAuthMethods.authEnable) { _, _ in
            throw GRPCStatus(.failedPrecondition, "grey: authentication with users and roles is not supported; use TLS client certificates (GREY_TLS_CA)")
        }
    }
}
