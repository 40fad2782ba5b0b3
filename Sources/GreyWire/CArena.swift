#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import GreyProto

/// Owns the C memory a protobuf-c struct points into while it is being packed.
///
/// protobuf-c packs from plain C structs full of raw pointers (bytes, strings, nested and
/// repeated messages). Building one from Swift values needs memory that outlives each
/// `withUnsafeBytes` closure but not the pack call, so every allocation goes here and is
/// freed together when the arena is released. An arena is used by one encode on one thread.
public final class CArena {
    private var allocations: [UnsafeMutableRawPointer] = []

    init() {}

    deinit {
        for allocation in allocations { free(allocation) }
    }

    /// A zero-filled C struct, initialised with its protobuf-c `init` function.
    func message<C>(_ type: C.Type, _ initialise: (UnsafeMutablePointer<C>?) -> Void) -> UnsafeMutablePointer<C> {
        let raw = allocate(bytes: MemoryLayout<C>.stride)
        let typed = raw.bindMemory(to: C.self, capacity: 1)
        initialise(typed)
        return typed
    }

    /// A copy of `bytes` as a protobuf-c `bytes` field.
    func binary(_ bytes: [UInt8]) -> ProtobufCBinaryData {
        guard !bytes.isEmpty else { return ProtobufCBinaryData(len: 0, data: nil) }
        let raw = allocate(bytes: bytes.count)
        bytes.withUnsafeBytes { raw.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        return ProtobufCBinaryData(len: bytes.count, data: raw.assumingMemoryBound(to: UInt8.self))
    }

    /// A NUL-terminated copy of `string` as a protobuf-c `string` field.
    func string(_ string: String) -> UnsafeMutablePointer<CChar> {
        let utf8 = Array(string.utf8)
        let raw = allocate(bytes: utf8.count + 1)
        let chars = raw.bindMemory(to: CChar.self, capacity: utf8.count + 1)
        for (offset, byte) in utf8.enumerated() { chars[offset] = CChar(bitPattern: byte) }
        chars[utf8.count] = 0
        return chars
    }

    /// A C array of pointers to each element's C struct, for a `repeated` message field.
    func repeated<M: ProtobufMessage>(_ elements: [M]) -> (count: Int, pointers: UnsafeMutablePointer<UnsafeMutablePointer<M.CMessage>?>?) {
        guard !elements.isEmpty else { return (0, nil) }
        let raw = allocate(bytes: MemoryLayout<UnsafeMutablePointer<M.CMessage>?>.stride * elements.count)
        let pointers = raw.bindMemory(to: UnsafeMutablePointer<M.CMessage>?.self, capacity: elements.count)
        for (offset, element) in elements.enumerated() { pointers[offset] = element.makeC(in: self) }
        return (elements.count, pointers)
    }

    private func allocate(bytes: Int) -> UnsafeMutableRawPointer {
        guard let raw = calloc(1, max(bytes, 1)) else {
            fatalError("CArena: out of memory allocating \(bytes) bytes")
        }
        allocations.append(raw)
        return raw
    }
}

extension Array where Element == UInt8 {
    /// A copy of a protobuf-c `bytes` field.
    init(_ binary: ProtobufCBinaryData) {
        guard binary.len > 0, let data = binary.data else { self = []; return }
        self.init(UnsafeBufferPointer(start: data, count: binary.len))
    }
}

extension String {
    /// A copy of a protobuf-c `string` field (NULL reads as empty).
    init(protobufC pointer: UnsafeMutablePointer<CChar>?) {
        guard let pointer else { self = ""; return }
        self.init(cString: pointer)
    }
}

/// Copies a `repeated` message field out of a C struct.
func decodeRepeated<M: ProtobufMessage>(
    _ type: M.Type, count: Int, _ pointers: UnsafeMutablePointer<UnsafeMutablePointer<M.CMessage>?>?
) throws(WireError) -> [M] {
    guard count > 0, let pointers else { return [] }
    var result: [M] = []
    result.reserveCapacity(count)
    for offset in 0..<count {
        guard let element = pointers[offset] else { throw WireError.malformed(String(describing: M.self)) }
        result.append(try M(c: element.pointee))
    }
    return result
}

/// Copies an optional nested message field out of a C struct.
func decodeNested<M: ProtobufMessage>(_ type: M.Type, _ pointer: UnsafeMutablePointer<M.CMessage>?) throws(WireError) -> M? {
    guard let pointer else { return nil }
    return try M(c: pointer.pointee)
}

extension CArena {
    /// A C array of NUL-terminated copies, for a `repeated string` field.
    func strings(_ values: [String]) -> (count: Int, pointers: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) {
        guard !values.isEmpty else { return (0, nil) }
        let raw = allocate(bytes: MemoryLayout<UnsafeMutablePointer<CChar>?>.stride * values.count)
        let pointers = raw.bindMemory(to: UnsafeMutablePointer<CChar>?.self, capacity: values.count)
        for (offset, value) in values.enumerated() { pointers[offset] = string(value) }
        return (values.count, pointers)
    }
}

/// Copies a `repeated string` field out of a C struct.
func decodeStrings(count: Int, _ pointers: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> [String] {
    guard count > 0, let pointers else { return [] }
    return (0..<count).map { String(protobufC: pointers[$0]) }
}
