import GreyWire

/// A write to the store as it sits in the Raft log: a one-byte kind, then etcd's request.
public enum MVCCCommand: Sendable, Equatable {
    case put(Etcd.PutRequest)
    case deleteRange(Etcd.DeleteRangeRequest)
    case txn(Etcd.TxnRequest)
    case compact(Etcd.CompactionRequest)
    /// Raises or disarms an alarm (`AlarmSet`); a Get is answered from the store, not logged.
    case alarm(Etcd.AlarmRequest)

    // Kinds 1-3 were grey.v1's Put, Delete and CompareAndSwap before the store kept revisions;
    // `GreyNode` still reads them from old logs.
    static let putKind: UInt8 = 0x10
    static let deleteRangeKind: UInt8 = 0x11
    static let txnKind: UInt8 = 0x12
    static let compactKind: UInt8 = 0x13
    static let alarmKind: UInt8 = 0x14

    public func encoded() -> [UInt8] {
        switch self {
        case .put(let request): [Self.putKind] + request.encoded()
        case .deleteRange(let request): [Self.deleteRangeKind] + request.encoded()
        case .txn(let request): [Self.txnKind] + request.encoded()
        case .compact(let request): [Self.compactKind] + request.encoded()
        case .alarm(let request): [Self.alarmKind] + request.encoded()
        }
    }

    /// Decodes a logged command; nil when the bytes are not one.
    public init?(_ bytes: [UInt8]) {
        guard let kind = bytes.first else { return nil }
        let body = Array(bytes.dropFirst())
        switch kind {
        case Self.putKind: guard let request = try? Etcd.PutRequest(decoding: body) else { return nil }; self = .put(request)
        case Self.deleteRangeKind: guard let request = try? Etcd.DeleteRangeRequest(decoding: body) else { return nil }; self = .deleteRange(request)
        case Self.txnKind: guard let request = try? Etcd.TxnRequest(decoding: body) else { return nil }; self = .txn(request)
        case Self.compactKind: guard let request = try? Etcd.CompactionRequest(decoding: body) else { return nil }; self = .compact(request)
        case Self.alarmKind: guard let request = try? Etcd.AlarmRequest(decoding: body) else { return nil }; self = .alarm(request)
        default: return nil
        }
    }
}

/// What applying one command produced, for the client that proposed it. The response's
/// header carries only the revision; the node fills in the rest.
public enum MVCCOutcome: Sendable {
    case put(Etcd.PutResponse)
    case deleteRange(Etcd.DeleteRangeResponse)
    case txn(Etcd.TxnResponse)
    case compact(Etcd.CompactionResponse)
    case alarm(Etcd.AlarmResponse)
    /// Refused as etcd refuses it (nothing was written).
    case refused(MVCCError)
}
