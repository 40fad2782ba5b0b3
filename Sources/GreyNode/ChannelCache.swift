import GreyRPC
import NIOConcurrencyHelpers
import NIOCore

/// One `GRPCChannel` per address, shared by every caller.
final class ChannelCache: Sendable {
    private let channels = NIOLockedValueBox([String: GRPCChannel]())

    /// The channel to `address`; a new one is dialled as `configuration` says (`NodeConfiguration.channel`).
    func channel(to address: String, on loops: any EventLoopGroup, dialing configuration: NodeConfiguration) throws -> GRPCChannel {
        try channels.withLockedValue { channels in
            if let existing = channels[address] { return existing }
            let channel = try configuration.channel(to: address, on: loops)
            channels[address] = channel
            return channel
        }
    }
}
