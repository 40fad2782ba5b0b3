import GreyWire

/// Why the store refused a request, with etcd's gRPC code and message for it (etcdctl and
/// etcd's clients recognise errors by these).
public enum MVCCError: Error, Equatable, Sendable {
    case compacted
    case futureRevision
    case emptyKey
    case keyNotFound
    case valueProvided
    case leaseProvided
    case leaseNotFound
    case tooManyOperations
    case duplicateKey
    case requestTooLarge
    /// A write that adds data while NOSPACE is raised (`SpaceQuota`).
    case noSpace
    case corrupted(String)

    public var status: GRPCStatus {
        switch self {
        case .compacted: GRPCStatus(.outOfRange, "etcdserver: mvcc: required revision has been compacted")
        case .futureRevision: GRPCStatus(.outOfRange, "etcdserver: mvcc: required revision is a future revision")
        case .emptyKey: GRPCStatus(.invalidArgument, "etcdserver: key is not provided")
        case .keyNotFound: GRPCStatus(.invalidArgument, "etcdserver: key not found")
        case .valueProvided: GRPCStatus(.invalidArgument, "etcdserver: value is provided")
        case .leaseProvided: GRPCStatus(.invalidArgument, "etcdserver: lease is provided")
        case .leaseNotFound: GRPCStatus(.notFound, "etcdserver: requested lease not found")
        case .tooManyOperations: GRPCStatus(.invalidArgument, "etcdserver: too many operations in txn request")
        case .duplicateKey: GRPCStatus(.invalidArgument, "etcdserver: duplicate key given in txn request")
        case .requestTooLarge: GRPCStatus(.invalidArgument, "etcdserver: request is too large")
        case .noSpace: GRPCStatus(.resourceExhausted, "etcdserver: mvcc: database space exceeded")
        case .corrupted(let detail): GRPCStatus(.dataLoss, "the MVCC store is damaged: \(detail)")
        }
    }
}

/// The keys a request names, by etcd's conventions for `key` and `range_end`.
public enum KeyRange: Equatable, Sendable {
    /// `range_end` empty: the key alone.
    case single([UInt8])
    /// `range_end` "\0": every key from `key` on.
    case from([UInt8])
    /// Every key in [start, end).
    case between([UInt8], [UInt8])

    public init(key: [UInt8], rangeEnd: [UInt8]) {
        if rangeEnd.isEmpty {
            self = .single(key)
        } else if rangeEnd == [0] {
            self = .from(key)
        } else {
            self = .between(key, rangeEnd)
        }
    }

    public var start: [UInt8] {
        switch self {
        case .single(let key), .from(let key), .between(let key, _): key
        }
    }

    /// Whether `key` is in the range.
    public func contains(_ key: [UInt8]) -> Bool {
        switch self {
        case .single(let only): key == only
        case .from(let start): !key.lexicographicallyPrecedes(start)
        case .between(let start, let end): !key.lexicographicallyPrecedes(start) && key.lexicographicallyPrecedes(end)
        }
    }

    /// Whether two ranges share a key (for the Txn duplicate-key rule).
    public func overlaps(_ other: KeyRange) -> Bool {
        switch (self, other) {
        case (.single(let key), _): return other.contains(key)
        case (_, .single(let key)): return contains(key)
        default:
            // Two intervals [a, b) and [c, d) (b, d possibly unbounded) meet when a < d and c < b.
            func precedesEnd(_ key: [UInt8], _ range: KeyRange) -> Bool {
                if case .between(_, let end) = range { return key.lexicographicallyPrecedes(end) }
                return true
            }
            return precedesEnd(start, other) && precedesEnd(other.start, self)
        }
    }
}
