import GreyWire

/// A client write as it sits in the Raft log: a one-byte kind, then the request's protobuf.
enum KVCommand {
    case put(PutRequest)
    case delete(DeleteRequest)
    case compareAndSwap(CompareAndSwapRequest)

    func encoded() -> [UInt8] {
        switch self {
        case .put(let request): [1] + request.encoded()
        case .delete(let request): [2] + request.encoded()
        case .compareAndSwap(let request): [3] + request.encoded()
        }
    }

    init?(_ bytes: [UInt8]) {
        guard let kind = bytes.first else { return nil }
        let body = Array(bytes.dropFirst())
        switch kind {
        case 1: guard let request = try? PutRequest(decoding: body) else { return nil }; self = .put(request)
        case 2: guard let request = try? DeleteRequest(decoding: body) else { return nil }; self = .delete(request)
        case 3: guard let request = try? CompareAndSwapRequest(decoding: body) else { return nil }; self = .compareAndSwap(request)
        default: return nil
        }
    }
}

/// What applying a command produced, handed back to the client that proposed it.
enum KVOutcome: Sendable {
    case put
    case deleted(existed: Bool)
    case swapped(succeeded: Bool, current: [UInt8]?)
}
