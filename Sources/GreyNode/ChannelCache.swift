import GreyRPC
import NIOConcurrencyHelpers
import NIOCore

/// One `GRPCChannel` per address, shared by every caller.
final class ChannelCache: Sendable {
    private let channels = NIOLockedValueBox([String: GRPCChannel]())

    func channel(to address: String, on eventLoop: any EventLoop) throws -> GRPCChannel {
        try channels.withLockedValue { channels in
            if let existing = channels[address] { return existing }
            let channel = try GRPCChannel(target: address, group: eventLoop)
            channels[address] = channel
            return channel
        }
    }
}
