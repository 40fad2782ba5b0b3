/// gRPC's length-prefixed message framing: a compressed flag byte, a 4-byte big-endian
/// length, then the message.
public enum GRPCMessageFramer {
    /// The size of the prefix before every message.
    public static let prefixBytes = 5

    /// `message` with its uncompressed 5-byte prefix.
    public static func frame(_ message: [UInt8]) -> [UInt8] {
        var framed = [UInt8]()
        framed.reserveCapacity(prefixBytes + message.count)
        appendFrame(message, to: &framed)
        return framed
    }

    /// Appends `message` with its prefix to `buffer`.
    public static func appendFrame(_ message: [UInt8], to buffer: inout [UInt8]) {
        let length = UInt32(message.count)
        buffer.append(0)
        buffer.append(UInt8(truncatingIfNeeded: length >> 24))
        buffer.append(UInt8(truncatingIfNeeded: length >> 16))
        buffer.append(UInt8(truncatingIfNeeded: length >> 8))
        buffer.append(UInt8(truncatingIfNeeded: length))
        buffer.append(contentsOf: message)
    }
}

/// Reassembles length-prefixed gRPC messages from DATA frames that may split a message
/// anywhere or carry several at once.
///
/// The limit is checked when a prefix arrives, before any of the body is buffered, and
/// memory is reserved as the body arrives, not as the prefix announces it: a peer declaring
/// a 4 MiB message and sending ten bytes of it costs about ten bytes.
public struct GRPCMessageReader: Sendable {
    /// The largest message accepted, in bytes.
    public let maxMessageBytes: Int
    private var pending: [UInt8] = []
    private var expectedLength: Int? = nil
    /// Messages completed so far, in arrival order.
    public private(set) var messages: [[UInt8]] = []

    public init(maxMessageBytes: Int) {
        self.maxMessageBytes = maxMessageBytes
    }

    /// True when bytes of an incomplete prefix or message are still buffered.
    public var hasPartialMessage: Bool { !pending.isEmpty || expectedLength != nil }

    /// Feeds bytes from one DATA frame.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) throws(WireError) {
        var input = bytes[...]
        while !input.isEmpty {
            if let length = expectedLength {
                let take = min(length - pending.count, input.count)
                if pending.capacity < pending.count + take {
                    // Grow by doubling, but never past the declared length.
                    pending.reserveCapacity(min(length, max(pending.capacity * 2, pending.count + take)))
                }
                pending.append(contentsOf: input.prefix(take))
                input = input.dropFirst(take)
                if pending.count == length {
                    messages.append(pending)
                    pending = []
                    expectedLength = nil
                }
                continue
            }
            let take = min(GRPCMessageFramer.prefixBytes - pending.count, input.count)
            pending.append(contentsOf: input.prefix(take))
            input = input.dropFirst(take)
            guard pending.count == GRPCMessageFramer.prefixBytes else { continue }
            guard pending[0] == 0 else { throw WireError.compressedMessage }
            let length = UInt64(pending[1]) << 24 | UInt64(pending[2]) << 16 | UInt64(pending[3]) << 8 | UInt64(pending[4])
            guard length <= UInt64(maxMessageBytes) else {
                throw WireError.messageTooLarge(length: length, limit: maxMessageBytes)
            }
            pending = []
            if length == 0 {
                messages.append([])
            } else {
                expectedLength = Int(length)
            }
        }
    }

    /// Feeds bytes held in an array.
    public mutating func append(_ bytes: [UInt8]) throws(WireError) {
        let result: Result<Void, WireError> = bytes.withUnsafeBytes { raw in
            do throws(WireError) { try append(raw); return .success(()) } catch { return .failure(error) }
        }
        try result.get()
    }
}
