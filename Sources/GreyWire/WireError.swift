/// Why bytes from the network could not be turned into a message.
public enum WireError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The bytes are not a valid protobuf encoding of the named message.
    case malformed(String)
    /// A field holds an enum number this version does not know.
    case unknownEnumValue(message: String, field: String, value: UInt32)
    /// A length-prefixed gRPC message is larger than the configured limit.
    case messageTooLarge(length: UInt64, limit: Int)
    /// The gRPC message prefix announced compression, which Grey does not negotiate.
    case compressedMessage

    public var description: String {
        switch self {
        case .malformed(let message): return "invalid \(message): not a valid protobuf encoding"
        case let .unknownEnumValue(message, field, value): return "\(message).\(field): unknown enum value \(value)"
        case let .messageTooLarge(length, limit): return "message of \(length) bytes exceeds the \(limit)-byte limit"
        case .compressedMessage: return "compressed messages are not supported (no grpc-encoding was negotiated)"
        }
    }
}
