import GreyStorage

// libFuzzer target: installing a snapshot that arrives in chunks. The first byte sets the
// chunk size; the rest is the stream. The decoder must refuse anything malformed (structure,
// lengths, CRCs) without crashing, and a stream it accepts must hold what it said it holds.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSnapshot(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    guard let first = bytes.first else { return 0 }
    let chunk = max(1, Int(first) * 4)
    var decoder = SnapshotDecoder()
    var records: UInt64 = 0
    var rest = bytes.dropFirst()
    do {
        while !rest.isEmpty {
            try decoder.feed(rest.prefix(chunk)) { (_, _) throws(StorageError) in records += 1 }
            rest = rest.dropFirst(chunk)
        }
        try decoder.finish()
    } catch {
        return 0
    }
    precondition(decoder.finished && decoder.metadata != nil, "accepted a stream without a header or trailer")
    precondition(records == decoder.records, "decoder counted \(decoder.records) records, handed out \(records)")
    return 0
}
