import Foundation
import GreyTestSupport
import GreyWire
import Testing

@Suite("protobuf-c message codec")
struct MessageCodecTests {
    @Test("every sample survives encode then decode", arguments: WireVectorSamples.all)
    func roundTrip(sample: WireSample) throws {
        #expect(try sample.matches(sample.encoded()))
    }

    @Test("a 3 MiB snapshot chunk and a 1024-entry AppendEntries round-trip intact")
    func largeMessages() throws {
        let chunk = InstallSnapshotRequest(term: 1, data: (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }, done: false)
        #expect(try InstallSnapshotRequest(decoding: chunk.encoded()) == chunk)
        let entries = (0..<1024).map { Entry(term: 3, index: UInt64($0 + 1), data: [UInt8](repeating: UInt8($0 % 256), count: 512)) }
        let append = AppendEntriesRequest(term: 3, leaderID: 1, entries: entries, leaderCommit: 1000)
        let decoded = try AppendEntriesRequest(decoding: append.encoded())
        #expect(decoded.entries.count == 1024)
        #expect(decoded == append)
    }

    @Test("garbage bytes are refused with a WireError, never a crash")
    func malformedInput() throws {
        let garbage: [[UInt8]] = [
            [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F],  // key claims ~4 GiB
            [0x0A, 0x05, 0x61],  // key truncated
            [0xFF],  // unterminated varint tag
            [0x0B],  // start-group wire type
            Array(repeating: 0x80, count: 11),  // varint longer than 10 bytes
        ]
        for bytes in garbage {
            #expect(throws: WireError.malformed("PutRequest")) { try PutRequest(decoding: bytes) }
        }
        // Nested garbage inside a repeated field fails the whole message.
        #expect(throws: WireError.self) { try AppendEntriesRequest(decoding: [0x2A, 0x03, 0x08, 0xFF, 0xFF]) }
    }

    @Test("an enum number this version does not know is refused by name")
    func unknownEnum() throws {
        // GetRequest { key: "k", consistency: 9 }
        let bytes: [UInt8] = [0x0A, 0x01, 0x6B, 0x10, 0x09]
        #expect(throws: WireError.unknownEnumValue(message: "GetRequest", field: "consistency", value: 9)) {
            try GetRequest(decoding: bytes)
        }
    }

    @Test("unknown fields from a newer peer are skipped")
    func unknownFieldsSkipped() throws {
        // PutRequest { key: "a", field 99 (varint) = 1, value: "b" }
        let bytes: [UInt8] = [0x0A, 0x01, 0x61, 0x98, 0x06, 0x01, 0x12, 0x01, 0x62]
        #expect(try PutRequest(decoding: bytes) == PutRequest(key: [0x61], value: [0x62]))
    }

    @Test("encoding and decoding many messages frees all C memory")
    func noLeak() throws {
        let append = AppendEntriesRequest(term: 5, leaderID: 0, entries: WireVectorSamples.entries64, leaderCommit: 120)
        let status = try #require(WireVectorSamples.all.first { $0.name == "status_response" })
        func cycle(_ count: Int) throws {
            for _ in 0..<count {
                _ = try AppendEntriesRequest(decoding: append.encoded())
                _ = try status.matches(status.encoded())
            }
        }
        try cycle(2_000)  // warm up allocator pools
        let before = residentBytes()
        // 40k cycles × ~17 KB decoded: leaking the unpacked messages adds ~900 MiB (measured:
        // 446 MiB for 20k with free_unpacked removed). Other suites run in this process at the
        // same time, so the bound leaves room for their allocations (~60 MiB seen on CI).
        try cycle(40_000)
        let grownBytes = residentBytes() - before
        #expect(grownBytes < 256 << 20, "resident memory grew by \(grownBytes >> 20) MiB over 40,000 cycles")
    }
}
