import GreyRaft
import GreyWire

/// The byte stream of a Grey snapshot — what InstallSnapshot chunks carry, what a receiving
/// follower writes to disk, and what `greyctl snapshot create` saves:
///
///     header   "GREYSNP1", index u64, term u64, configuration length u32, Configuration (protobuf)
///     record*  0x01, key length u32, value length u32, key, value     (state-machine keys, in order)
///     trailer  0xFF, record count u64, CRC-32C u32 of every byte before it
///
/// Integers are big-endian. The trailer makes a truncated or damaged file detectable as a
/// whole; each chunk on the wire carries its own CRC as well.
public enum SnapshotFormat {
    static let magic = Array("GREYSNP1".utf8)
    static let recordTag: UInt8 = 0x01
    static let trailerTag: UInt8 = 0xFF
    static let trailerSize = 1 + 8 + 4

    static func header(_ metadata: SnapshotMetadata) -> [UInt8] {
        let configuration = LogEntryCodec.wireConfiguration(metadata.configuration).encoded()
        var bytes = magic
        append(&bytes, metadata.index.rawValue)
        append(&bytes, metadata.term.rawValue)
        append(&bytes, UInt32(configuration.count))
        return bytes + configuration
    }

    static func appendRecord(_ bytes: inout [UInt8], key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        bytes.append(recordTag)
        append(&bytes, UInt32(key.count))
        append(&bytes, UInt32(value.count))
        bytes.append(contentsOf: key)
        bytes.append(contentsOf: value)
    }

    static func append(_ bytes: inout [UInt8], _ value: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    static func append(_ bytes: inout [UInt8], _ value: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }
}

/// Produces a snapshot's bytes chunk by chunk from a frozen view of the state machine, so a
/// gigabyte is never in memory at once. Remembers the last chunk (to send it again) and can
/// start over from byte 0; those are the only two resume points a receiver ever asks for.
public final class SnapshotSource: @unchecked Sendable {
    // @unchecked Sendable: used by one task at a time, on a storage thread.
    public let metadata: SnapshotMetadata
    private let view: RocksDBView
    private var cursor: RocksDBCursor
    private var pending: [UInt8] = []
    private var pendingStart = 0
    private var crc = CRC32C()
    private var records: UInt64 = 0
    private var ended = false
    /// The offset of the next byte `nextChunk` produces.
    public private(set) var offset: UInt64 = 0
    /// The chunk most recently produced, to resend if it was lost.
    public private(set) var lastChunk: (offset: UInt64, data: [UInt8], done: Bool)?

    /// `metadata` must describe the state in `view` (its index is the view's applied index).
    public init(view: RocksDBView, metadata: SnapshotMetadata) {
        self.view = view
        self.metadata = metadata
        cursor = view.cursor("state", from: [RaftStorage.dataPrefix])
        restart()
    }

    /// Goes back to byte 0 (a receiver that restarted lost what it had).
    public func restart() {
        cursor = view.cursor("state", from: [RaftStorage.dataPrefix])
        pending = SnapshotFormat.header(metadata)
        pendingStart = 0
        crc = CRC32C()
        fold(from: 0)
        records = 0
        ended = false
        offset = 0
        lastChunk = nil
    }

    /// The next chunk of at most `maxBytes`, and whether it is the last. Blocking (reads RocksDB).
    public func nextChunk(maxBytes: Int) throws(StorageError) -> (offset: UInt64, data: [UInt8], done: Bool) {
        while pending.count - pendingStart < maxBytes && !ended {
            if let (key, value) = try cursor.current() {
                guard key.first == RaftStorage.dataPrefix else { ended = true; appendTrailer(); break }
                let start = pending.count
                SnapshotFormat.appendRecord(&pending, key: UnsafeRawBufferPointer(rebasing: key.dropFirst()), value: value)
                fold(from: start)
                records += 1
                cursor.advance()
            } else {
                ended = true
                appendTrailer()
            }
        }
        let end = min(pending.count, pendingStart + maxBytes)
        let data = Array(pending[pendingStart..<end])
        pendingStart = end
        if pendingStart > 1 << 20 {  // drop what has been sent, now and then
            pending.removeFirst(pendingStart)
            pendingStart = 0
        }
        let chunk = (offset: offset, data: data, done: ended && pendingStart == pending.count)
        offset += UInt64(data.count)
        lastChunk = chunk
        return chunk
    }

    private func appendTrailer() {
        // The CRC covers every byte before its own field: header, records, tag and count.
        let start = pending.count
        pending.append(SnapshotFormat.trailerTag)
        SnapshotFormat.append(&pending, records)
        fold(from: start)
        SnapshotFormat.append(&pending, crc.value)
    }

    private func fold(from start: Int) {
        pending.withUnsafeBytes { crc.update(UnsafeRawBufferPointer(rebasing: $0[start...])) }
    }
}
