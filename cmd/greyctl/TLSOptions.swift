import ArgumentParser
import Foundation
import GreyRPC
import GreyWire
import NIOSSL

/// `--cacert --cert --key` (or GREY_CACERT, GREY_CERT, GREY_KEY): TLS to a cluster that serves it.
struct TLSOptions: ParsableArguments {
    @Option(name: .long, help: "CA certificate (PEM) that signed the cluster's certificates: talk TLS and verify the nodes with it (GREY_CACERT).")
    var cacert: String?

    @Option(name: .long, help: "Client certificate (PEM) from the cluster CA, needed on a TLS cluster for membership changes (GREY_CERT).")
    var cert: String?

    @Option(name: .long, help: "The client certificate's private key (PEM) (GREY_KEY).")
    var key: String?

    /// TLS offering `protocols` over ALPN when a CA is given (flag or environment); nil for
    /// cleartext. It reads the PEM files: make one per command, not one per connection.
    func context(protocols: [String] = ["h2"]) throws -> NIOSSLContext? {
        let environment = ProcessInfo.processInfo.environment
        guard let ca = cacert ?? environment["GREY_CACERT"] else {
            if cert != nil || key != nil { throw ValidationError("--cert and --key need --cacert (the CA to verify the cluster with)") }
            return nil
        }
        do {
            return try TLS.clientContext(
                ca: ca, certificate: cert ?? environment["GREY_CERT"], key: key ?? environment["GREY_KEY"], protocols: protocols)
        } catch {
            throw CLIError(GRPCStatus(.invalidArgument, error.description))
        }
    }
}
