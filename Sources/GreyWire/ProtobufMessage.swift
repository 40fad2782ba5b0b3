import GreyProto

/// A Swift value mirroring one protobuf message, encoded and decoded by protobuf-c.
///
/// Each conforming type names its protoc-c struct and converts to and from it; packing and
/// unpacking are shared here through protobuf-c's descriptor-driven functions, so C memory is
/// owned in exactly two places: the `CArena` while encoding and `free_unpacked` while decoding.
public protocol ProtobufMessage: Sendable, Equatable {
    /// The struct protoc-c generated for this message.
    associatedtype CMessage
    /// protobuf-c's descriptor for this message.
    static var descriptor: MessageDescriptor { get }
    /// Copies the message out of its C struct; throws on values Swift cannot represent.
    init(c: CMessage) throws(WireError)
    /// Builds the C struct in `arena`, pointing only into memory the arena owns.
    func makeC(in arena: CArena) -> UnsafeMutablePointer<CMessage>
}

extension ProtobufMessage {
    /// The protobuf encoding of this message.
    public func encoded() -> [UInt8] {
        let arena = CArena()
        let message = UnsafeRawPointer(makeC(in: arena)).assumingMemoryBound(to: ProtobufCMessage.self)
        let size = protobuf_c_message_get_packed_size(message)
        return [UInt8](unsafeUninitializedCapacity: max(size, 1)) { buffer, count in
            count = size == 0 ? 0 : protobuf_c_message_pack(message, buffer.baseAddress!)
        }
    }

    /// Decodes a protobuf encoding; throws `WireError.malformed` for anything invalid.
    public init(decoding bytes: UnsafeRawBufferPointer) throws(WireError) {
        // protobuf-c reads `len` bytes from `data`; an empty message still needs a valid pointer.
        var empty: UInt8 = 0
        let unpacked: UnsafeMutablePointer<ProtobufCMessage>? = withUnsafePointer(to: &empty) { fallback in
            let data = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? fallback
            return protobuf_c_message_unpack(Self.descriptor.pointer, nil, bytes.count, data)
        }
        guard let unpacked else { throw WireError.malformed(String(describing: Self.self)) }
        defer { protobuf_c_message_free_unpacked(unpacked, nil) }
        try self.init(c: UnsafeRawPointer(unpacked).load(as: CMessage.self))
    }

    /// Decodes a protobuf encoding held in an array.
    public init(decoding bytes: [UInt8]) throws(WireError) {
        let result: Result<Self, WireError> = bytes.withUnsafeBytes { raw in
            do throws(WireError) { return .success(try Self(decoding: raw)) } catch { return .failure(error) }
        }
        self = try result.get()
    }
}

/// The descriptor protobuf-c's generated `init` function installs in a message's header.
///
/// The descriptor is an `extern const` C global; Swift cannot take its address directly, but
/// every generated `init` stores that address in `base.descriptor`, which is stable for the
/// life of the process.
func protobufDescriptor<C>(_ type: C.Type, _ initialise: (UnsafeMutablePointer<C>?) -> Void) -> MessageDescriptor {
    let message = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<C>.stride, alignment: MemoryLayout<C>.alignment)
    defer { message.deallocate() }
    initialise(message.bindMemory(to: C.self, capacity: 1))
    return MessageDescriptor(pointer: message.load(as: ProtobufCMessage.self).descriptor)
}

/// A pointer to a protobuf-c message descriptor.
///
/// `@unchecked Sendable` is safe: descriptors are `const` C globals that nothing ever writes.
public struct MessageDescriptor: @unchecked Sendable {
    let pointer: UnsafePointer<ProtobufCMessageDescriptor>
}

/// Reads a C enum field into a Swift enum, refusing numbers this version does not know.
func decodeEnum<E: RawRepresentable>(
    _ type: E.Type, _ raw: UInt32, message: String, field: String
) throws(WireError) -> E where E.RawValue == UInt32 {
    guard let value = E(rawValue: raw) else {
        throw WireError.unknownEnumValue(message: message, field: field, value: raw)
    }
    return value
}
