/// A byte string as a dictionary key, hashed in one pass over its bytes: `[UInt8]`'s own
/// `hash(into:)` feeds the hasher one byte per call, and hashing the state batch's keys that
/// way was ~4% of a follower's CPU under 1024 streams of Puts (perf: `Hasher._combine(UInt8)`).
public struct ByteKey: Hashable, Sendable {
    public let bytes: [UInt8]

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    public func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    public static func == (a: ByteKey, b: ByteKey) -> Bool {
        a.bytes == b.bytes
    }
}
