import GreyRaft
import GreyWire

/// Reads the `SnapshotFormat` stream piece by piece (pieces may split anything anywhere),
/// handing out records as they complete and checking the trailer's count and CRC at the end.
/// Memory stays at one piece plus one record.
public struct SnapshotDecoder {
    public private(set) var metadata: SnapshotMetadata?
    public private(set) var records: UInt64 = 0
    public private(set) var finished = false
    private var buffer: [UInt8] = []
    private var position = 0
    private var crc = CRC32C()
    /// Bytes consumed so far, for error messages.
    private var consumed: UInt64 = 0

    public init() {}

    /// Consumes `bytes`, calling `record` for each complete key/value pair.
    public mutating func feed(_ bytes: some Collection<UInt8>, record: (_ key: [UInt8], _ value: [UInt8]) throws(StorageError) -> Void) throws(StorageError) {
        guard !finished || bytes.isEmpty else { throw .badSnapshot("has bytes after its trailer") }
        if position > 0 {
            buffer.removeFirst(position)
            position = 0
        }
        buffer.append(contentsOf: bytes)
        while true {
            if metadata == nil {
                guard try parseHeader() else { return }
                continue
            }
            guard position < buffer.count else { return }
            switch buffer[position] {
            case SnapshotFormat.recordTag:
                guard available >= 9 else { return }
                let keyLength = Int(readUInt32(at: position + 1))
                let valueLength = Int(readUInt32(at: position + 5))
                guard keyLength <= 64 << 20, valueLength <= 64 << 20 else {
                    throw .badSnapshot("record \(records + 1) claims a \(keyLength)-byte key and a \(valueLength)-byte value")
                }
                guard available >= 9 + keyLength + valueLength else { return }
                let keyStart = position + 9
                let key = Array(buffer[keyStart..<keyStart + keyLength])
                let value = Array(buffer[keyStart + keyLength..<keyStart + keyLength + valueLength])
                take(9 + keyLength + valueLength)
                records += 1
                try record(key, value)
            case SnapshotFormat.trailerTag:
                guard available >= SnapshotFormat.trailerSize else { return }
                let count = readUInt64(at: position + 1)
                take(9)
                let stored = readUInt32(at: position)
                position += 4
                guard count == records else { throw .badSnapshot("trailer counts \(count) records but \(records) were read") }
                guard stored == crc.value else {
                    throw .badSnapshot("checksum mismatch: stored \(hex(stored)), computed \(hex(crc.value))")
                }
                finished = true
                guard position == buffer.count else { throw .badSnapshot("has bytes after its trailer") }
                return
            case let tag:
                throw .badSnapshot("has an unknown record tag \(tag) at byte \(consumed)")
            }
        }
    }

    /// Confirms the whole stream arrived.
    public func finish() throws(StorageError) {
        guard metadata != nil else { throw .badSnapshot("truncated: no complete header") }
        guard finished else { throw .badSnapshot("truncated after \(records) records: no trailer") }
    }

    private var available: Int { buffer.count - position }

    private mutating func parseHeader() throws(StorageError) -> Bool {
        let fixed = SnapshotFormat.magic.count + 20
        let magicSeen = min(available, SnapshotFormat.magic.count)
        guard buffer[position..<position + magicSeen].elementsEqual(SnapshotFormat.magic.prefix(magicSeen)) else {
            throw .badSnapshot("not a Grey snapshot (bad magic)")
        }
        guard available >= fixed else { return false }
        let configurationLength = Int(readUInt32(at: position + 24))
        guard configurationLength <= 16 << 20 else { throw .badSnapshot("header claims a \(configurationLength)-byte configuration") }
        guard available >= fixed + configurationLength else { return false }
        let index = readUInt64(at: position + 8)
        let term = readUInt64(at: position + 16)
        let configurationBytes = Array(buffer[position + fixed..<position + fixed + configurationLength])
        guard let configuration = try? GreyWire.Configuration(decoding: configurationBytes) else {
            throw .badSnapshot("header's configuration does not decode")
        }
        metadata = SnapshotMetadata(index: LogIndex(index), term: Term(term), configuration: LogEntryCodec.raftConfiguration(configuration))
        take(fixed + configurationLength)
        return true
    }

    private mutating func take(_ count: Int) {
        buffer.withUnsafeBytes { crc.update(UnsafeRawBufferPointer(rebasing: $0[position..<position + count])) }
        position += count
        consumed += UInt64(count)
    }

    private func readUInt64(at offset: Int) -> UInt64 {
        RaftStorage.decodeUInt64(buffer[offset..<offset + 8])
    }

    private func readUInt32(at offset: Int) -> UInt32 {
        buffer[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }

    private func hex(_ value: UInt32) -> String { "0x" + String(value, radix: 16) }
}
