import GreyRPC
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL

/// One `GRPCChannel` per address, shared by every caller.
final class ChannelCache: Sendable {
    private let channels = NIOLockedValueBox([String: GRPCChannel]())

    /// The channel to `address`; a new one leaves from `sourceHost` (see `NodeConfiguration.sourceHost`)
    /// and speaks TLS with `tls`.
    func channel(to address: String, on eventLoop: any EventLoop, from sourceHost: String?, tls: NIOSSLContext?) throws -> GRPCChannel {
        try channels.withLockedValue { channels in
            if let existing = channels[address] { return existing }
            let channel = try GRPCChannel(target: address, group: eventLoop, sourceHost: sourceHost, tls: tls)
            channels[address] = channel
            return channel
        }
    }
}
