import GreyWire

/// The checks etcd makes before a request reaches the log, with its errors: a request that
/// fails them is refused at once and never proposed.
public enum RequestRules {
    /// etcd's default `--max-txn-ops`.
    public static let maxTxnOperations = 128

    public static func check(_ request: Etcd.PutRequest) throws(MVCCError) {
        guard !request.key.isEmpty else { throw .emptyKey }
        if request.ignoreValue && !request.value.isEmpty { throw .valueProvided }
        if request.ignoreLease && request.lease != 0 { throw .leaseProvided }
    }

    public static func check(_ request: Etcd.RangeRequest) throws(MVCCError) {
        guard !request.key.isEmpty else { throw .emptyKey }
    }

    public static func check(_ request: Etcd.DeleteRangeRequest) throws(MVCCError) {
        guard !request.key.isEmpty else { throw .emptyKey }
    }

    /// Size limits (per Txn, nested ones counted against what is left), keys present, and no
    /// key written twice in one branch: two puts, or a put inside a delete's range.
    public static func check(_ request: Etcd.TxnRequest, maxOperations: Int = maxTxnOperations) throws(MVCCError) {
        let operations = max(request.compare.count, request.success.count, request.failure.count)
        guard operations <= maxOperations else { throw .tooManyOperations }
        for compare in request.compare where compare.key.isEmpty { throw .emptyKey }
        for op in request.success + request.failure {
            switch op {
            case .range(let range): try check(range)
            case .put(let put): try check(put)
            case .deleteRange(let delete): try check(delete)
            case .txn(let nested): try check(nested, maxOperations: maxOperations - operations)
            }
        }
        _ = try writes(of: request.success)
        _ = try writes(of: request.failure)
    }

    /// The keys a branch puts and the ranges it deletes, refusing a key written twice.
    private static func writes(of branch: [Etcd.RequestOp]) throws(MVCCError) -> (puts: Set<[UInt8]>, deletes: [KeyRange]) {
        var deletes: [KeyRange] = []
        for case .deleteRange(let delete) in branch { deletes.append(KeyRange(key: delete.key, rangeEnd: delete.rangeEnd)) }
        var puts: Set<[UInt8]> = []
        func add(_ key: [UInt8], allowedTwice: Bool = false) throws(MVCCError) {
            if puts.contains(key) && !allowedTwice { throw .duplicateKey }
            if deletes.contains(where: { $0.contains(key) }) { throw .duplicateKey }
            puts.insert(key)
        }
        for case .txn(let nested) in branch {
            let then = try writes(of: nested.success)
            let otherwise = try writes(of: nested.failure)
            for key in then.puts { try add(key) }
            // Only one of a nested Txn's branches runs: a key both put is written once.
            for key in otherwise.puts { try add(key, allowedTwice: then.puts.contains(key)) }
            deletes += then.deletes + otherwise.deletes
        }
        for case .put(let put) in branch { try add(put.key) }
        return (puts, deletes)
    }
}
