import GreyWire
import Testing

@Suite("gRPC length-prefixed framing")
struct FramingTests {
    @Test("messages split at every possible byte boundary reassemble")
    func splitAnywhere() throws {
        let messages: [[UInt8]] = [Array("first".utf8), [], (0..<300).map { UInt8($0 % 256) }]
        let stream = messages.flatMap(GRPCMessageFramer.frame)
        for cut in 0...stream.count {
            var reader = GRPCMessageReader(maxMessageBytes: 1024)
            try reader.append(Array(stream[..<cut]))
            try reader.append(Array(stream[cut...]))
            #expect(reader.messages == messages, "cut at \(cut)")
            #expect(!reader.hasPartialMessage)
        }
    }

    @Test("several messages in one chunk, and one byte per chunk")
    func manyPerChunkAndBytewise() throws {
        let messages = (0..<50).map { [UInt8](repeating: UInt8($0), count: $0) }
        let stream = messages.flatMap(GRPCMessageFramer.frame)
        var whole = GRPCMessageReader(maxMessageBytes: 64)
        try whole.append(stream)
        #expect(whole.messages == messages)
        var bytewise = GRPCMessageReader(maxMessageBytes: 64)
        for byte in stream { try bytewise.append([byte]) }
        #expect(bytewise.messages == messages)
    }

    @Test("a 4 GiB length prefix is refused at the prefix, before buffering")
    func hugePrefix() throws {
        var reader = GRPCMessageReader(maxMessageBytes: 4 << 20)
        #expect(throws: WireError.messageTooLarge(length: 0xFFFF_FFFF, limit: 4 << 20)) {
            try reader.append([0, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3])
        }
    }

    @Test("a message exactly at the limit is accepted; one byte more is not")
    func limitBoundary() throws {
        var reader = GRPCMessageReader(maxMessageBytes: 10)
        try reader.append(GRPCMessageFramer.frame([UInt8](repeating: 1, count: 10)))
        #expect(reader.messages.count == 1)
        #expect(throws: WireError.messageTooLarge(length: 11, limit: 10)) {
            try reader.append(GRPCMessageFramer.frame([UInt8](repeating: 1, count: 11)))
        }
    }

    @Test("a compressed flag without negotiated compression is refused")
    func compressed() throws {
        var reader = GRPCMessageReader(maxMessageBytes: 10)
        #expect(throws: WireError.compressedMessage) { try reader.append([1, 0, 0, 0, 1, 0]) }
    }

    @Test("a truncated message is reported as partial")
    func truncated() throws {
        var reader = GRPCMessageReader(maxMessageBytes: 10)
        try reader.append([0, 0, 0, 0, 5, 1, 2])
        #expect(reader.messages.isEmpty)
        #expect(reader.hasPartialMessage)
    }

    @Test("grpc-timeout values parse and format", arguments: [
        ("1S", Int64(1_000_000_000)), ("250m", 250_000_000), ("10u", 10_000), ("7n", 7), ("2M", 120_000_000_000),
        ("1H", 3_600_000_000_000), ("99999999H", Int64.max),
    ])
    func timeoutParse(value: String, nanoseconds: Int64) {
        #expect(GRPCTimeout.parse(value) == nanoseconds)
    }

    @Test("malformed grpc-timeout values are refused", arguments: ["", "S", "12", "1s", "-1S", "123456789S", "1.5S"])
    func timeoutMalformed(value: String) {
        #expect(GRPCTimeout.parse(value) == nil)
    }

    @Test("formatted timeouts parse back to at least the original")
    func timeoutFormat() {
        // The last two: a client's "99999999H" parses to Int64.max (saturated), and a node
        // forwarding that call formats what remains of it; rounding up once overflowed there
        // (found by the framing fuzzer, data/fuzz/framing/regression-timeout-format-overflow).
        for nanoseconds: Int64 in [0, 1, 999, 1_500_000, 30_000_000_000, 86_400_000_000_000, Int64.max - 1, Int64.max] {
            let formatted = GRPCTimeout.format(nanoseconds: nanoseconds)
            let parsed = GRPCTimeout.parse(formatted)
            #expect(parsed != nil && parsed! >= nanoseconds, "\(nanoseconds) → \(formatted)")
        }
    }

    @Test("grpc-message percent-encoding round-trips non-ASCII and %")
    func percentEncoding() {
        let message = "quorum not available: 100% of 3 nodes — ünreachable\n"
        let encoded = GRPCStatus.percentEncode(message)
        #expect(encoded.utf8.allSatisfy { $0 >= 0x20 && $0 <= 0x7E })
        #expect(GRPCStatus.percentDecode(encoded) == message)
    }
}
