import NIOCore
import NIOSSL

/// TLS on Grey's port, from PEM files. One port carries clients and peers, so the server asks
/// every connection for a certificate but does not insist: a presented one must chain to the
/// cluster CA or the handshake fails, and handlers learn whether the caller holds one
/// (`GRPCCallContext.peerCertified`) — Raft and membership calls require it, KV calls do not.
/// ALPN offers http/1.1 (the side door) and h2 (gRPC); the protocol sniffer still decides.
public enum TLS {
    /// A setting that cannot be used, with the file and the reason.
    public struct SetupError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Server preference order: a client offering http/1.1 (curl, browsers, Prometheus) gets the
    /// side door; gRPC clients offer only h2 (grpcio also "grpc-exp") and get gRPC.
    static let protocols = ["http/1.1", "h2"]

    /// The server side: presents `certificate` (a PEM chain) with `key`; verifies client
    /// certificates, when offered, against the CA bundle `ca`.
    public static func serverContext(certificate: String, key: String, ca: String) throws(SetupError) -> NIOSSLContext {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try load(certificate, "certificate", NIOSSLCertificate.fromPEMFile).map { .certificate($0) },
            privateKey: .privateKey(try load(key, "key") { try NIOSSLPrivateKey(file: $0, format: .pem) }))
        configuration.trustRoots = .certificates(try load(ca, "CA", NIOSSLCertificate.fromPEMFile))
        configuration.certificateVerification = .optionalVerification
        configuration.applicationProtocols = protocols
        configuration.minimumTLSVersion = .tlsv12
        return try context(configuration)
    }

    /// The client side: verifies the server's certificate and name (or IP) against `ca` (the
    /// system's roots when nil); presents `certificate` and `key` when given (a node to its
    /// peers, an operator holding a cluster certificate).
    /// `protocols` is what ALPN offers: h2 for gRPC, http/1.1 for the side door.
    public static func clientContext(
        ca: String?, certificate: String? = nil, key: String? = nil, protocols: [String] = ["h2"]
    ) throws(SetupError) -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let ca { configuration.trustRoots = .certificates(try load(ca, "CA", NIOSSLCertificate.fromPEMFile)) }
        switch (certificate, key) {
        case let (certificate?, key?):
            configuration.certificateChain = try load(certificate, "certificate", NIOSSLCertificate.fromPEMFile).map { .certificate($0) }
            configuration.privateKey = .privateKey(try load(key, "key") { try NIOSSLPrivateKey(file: $0, format: .pem) })
        case (nil, nil):
            break
        default:
            throw SetupError(description: "a client certificate needs its key and a key its certificate")
        }
        configuration.applicationProtocols = protocols
        configuration.minimumTLSVersion = .tlsv12
        return try context(configuration)
    }

    /// The handler a client puts first on a connection to `host`: SNI and name checks use the
    /// host name; for an IP address the certificate must name that IP.
    static func clientHandler(_ context: NIOSSLContext, host: String) throws -> NIOSSLClientHandler {
        let isAddress = (try? SocketAddress(ipAddress: host, port: 0)) != nil
        return try NIOSSLClientHandler(context: context, serverHostname: isAddress ? nil : host)
    }

    /// Whether the connection's peer presented a certificate (verified during the handshake:
    /// one that did not chain to the CA would have failed it).
    static func peerCertified(_ channel: Channel) -> Bool {
        guard let handler = try? channel.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self) else { return false }
        return handler.peerCertificate != nil
    }

    private static func load<T>(_ path: String, _ what: String, _ read: (String) throws -> T) throws(SetupError) -> T {
        do {
            return try read(path)
        } catch {
            throw SetupError(description: "cannot use \(what) file \(path): \(error)")
        }
    }

    private static func context(_ configuration: TLSConfiguration) throws(SetupError) -> NIOSSLContext {
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw SetupError(description: "cannot set up TLS: \(error)")
        }
    }
}

/// A node's TLS identity: its certificate and key, and the cluster CA. It serves with them
/// and presents the same certificate when it calls its peers, so a peer knows it is one of
/// the cluster's own.
public struct NodeTLS: Sendable {
    public let server: NIOSSLContext
    public let client: NIOSSLContext

    public init(certificate: String, key: String, ca: String) throws(TLS.SetupError) {
        server = try TLS.serverContext(certificate: certificate, key: key, ca: ca)
        client = try TLS.clientContext(ca: ca, certificate: certificate, key: key)
    }
}
