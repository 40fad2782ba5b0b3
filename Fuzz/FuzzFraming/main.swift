import GreyWire

// libFuzzer target: gRPC's length-prefixed message framing as a server reads it, in pieces
// of arbitrary sizes, under a small message limit; and the grpc-timeout header parser.
// Every message handed out must fit the limit; a frame re-made from it must read back the same.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFraming(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    guard let first = bytes.first else { return 0 }
    if first & 0x80 != 0 {
        // A grpc-timeout value: parse, and a parsed one formats to something that parses back.
        let text = String(decoding: bytes.dropFirst(), as: UTF8.self)
        if let nanoseconds = GRPCTimeout.parse(text) {
            precondition(nanoseconds >= 0, "negative timeout from '\(text)'")
            precondition(GRPCTimeout.parse(GRPCTimeout.format(nanoseconds: nanoseconds)) != nil, "format of \(nanoseconds) does not parse")
        }
        return 0
    }
    let limit = 64
    var reader = GRPCMessageReader(maxMessageBytes: limit)
    var rest = bytes.dropFirst()
    let piece = max(1, Int(first & 0x1f))
    while !rest.isEmpty {
        do {
            try reader.append(Array(rest.prefix(piece)))
        } catch {
            return 0  // refused (too large, compressed): the server answers with a status
        }
        rest = rest.dropFirst(piece)
    }
    for message in reader.messages {
        precondition(message.count <= limit, "a \(message.count)-byte message passed a \(limit)-byte limit")
        var again = GRPCMessageReader(maxMessageBytes: limit)
        try! again.append(GRPCMessageFramer.frame(message))
        precondition(again.messages == [message] && !again.hasPartialMessage, "re-framed message read back differently")
    }
    return 0
}
