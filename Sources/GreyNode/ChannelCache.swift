import GreyRPC
import NIOConcurrencyHelpers
import NIOCore

/// One `GRPCChannel` per address, shared by every caller.
final class ChannelCache: Sendable {
    private let channels = NIOLockedValueBox([String: GRPCChannel]())

    /// The channel to `address`; a new one leaves from `sourceHost` (see `NodeConfiguration.sourceHost`).
    func channel(to address: String, on eventLoop: any EventLoop, from sourceHost: String?) throws -> GRPCChannel {
        try channels.withLockedValue { channels in
            if let existing = channels[address] { return existing }
            let channel = try GRPCChannel(target: address, group: eventLoop, sourceHost: sourceHost)
            channels[address] = channel
            return channel
        }
    }
}
