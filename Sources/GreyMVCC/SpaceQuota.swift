import GreyWire

/// etcd's space quota (`--quota-backend-bytes`): a write that would take the store past it
/// is refused, and its member raises NOSPACE, after which every member refuses every write
/// that adds data until an operator frees space and disarms the alarm. Reads, deletes and
/// compactions go on, so space can be freed.
public struct SpaceQuota: Sendable, Equatable {
    /// The most bytes the store may hold; nil: no quota.
    public var limit: Int64?

    /// etcd's default, 2 GiB.
    public static let defaultBytes: Int64 = 2 << 30

    /// From etcd's setting: 0 means the default, a negative number no quota.
    public init(setting bytes: Int64) {
        limit = bytes == 0 ? Self.defaultBytes : bytes < 0 ? nil : bytes
    }

    /// Whether the store, holding `size` bytes now, may take `command` (one that adds nothing
    /// always may: deleting is how space is freed).
    public func admits(_ command: MVCCCommand, size: Int64) -> Bool {
        guard let limit else { return true }
        let cost = command.addedBytes
        return cost == 0 || size + cost <= limit
    }
}

extension MVCCCommand {
    /// Roughly what applying this adds to the store (etcd's quota cost): the keys and values
    /// of its puts and a fixed overhead for each; for a Txn, its larger branch. Zero for a
    /// command that writes no key.
    public var addedBytes: Int64 {
        switch self {
        case .put(let request): Self.cost(request)
        case .txn(let request): Self.cost(request)
        case .deleteRange, .compact, .alarm: 0
        }
    }

    /// Whether a raised NOSPACE refuses this command: it does one that writes a key's value
    /// (a Put, a Txn with a Put in either branch), as etcd's capped applier does.
    var isCappedByNoSpace: Bool {
        switch self {
        case .put: true
        case .txn(let request): Self.cost(request) > 0
        case .deleteRange, .compact, .alarm: false
        }
    }

    /// A version's record, its index key and its history entry (see `MVCCKeys`).
    private static let overheadPerPut: Int64 = 64

    private static func cost(_ request: Etcd.PutRequest) -> Int64 {
        Int64(request.key.count + request.value.count) + overheadPerPut
    }

    private static func cost(_ request: Etcd.TxnRequest) -> Int64 {
        func branch(_ ops: [Etcd.RequestOp]) -> Int64 {
            ops.reduce(0) { total, op in
                switch op {
                case .put(let put): total + cost(put)
                case .txn(let nested): total + cost(nested)
                case .range, .deleteRange: total
                }
            }
        }
        return max(branch(request.success), branch(request.failure))
    }
}
