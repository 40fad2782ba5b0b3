import GreyRPC
import NIOConcurrencyHelpers

/// One `GRPCChannel` per address, shared by every caller.
final class ChannelCache: Sendable {
    private let channels = NIOLockedValueBox([String: GRPCChannel]())

    func channel(to address: String) throws -> GRPCChannel {
        try channels.withLockedValue { channels in
            if let existing = channels[address] { return existing }
            let channel = try GRPCChannel(target: address)
            channels[address] = channel
            return channel
        }
    }
}
