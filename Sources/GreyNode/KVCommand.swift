import GreyMVCC
import GreyWire

/// grey.v1's writes as the MVCC store's commands. Logs written before the store kept
/// revisions hold grey.v1 requests (kinds 1-3: Put, Delete, CompareAndSwap); they are read
/// here and applied as the commands they map to.
enum KVCommand {
    static func put(_ request: PutRequest) -> MVCCCommand {
        .put(Etcd.PutRequest(key: request.key, value: request.value))
    }

    static func delete(_ request: DeleteRequest) -> MVCCCommand {
        .deleteRange(Etcd.DeleteRangeRequest(key: request.key))
    }

    /// A Txn: if the value is the expected one (or the key is absent, when that is expected),
    /// put the new value; otherwise read the key, so the caller learns what is there.
    static func compareAndSwap(_ request: CompareAndSwapRequest) -> MVCCCommand {
        let condition = request.expectAbsent
            ? Etcd.Compare(result: .equal, target: .version(0), key: request.key)
            : Etcd.Compare(result: .equal, target: .value(request.expectedValue), key: request.key)
        return .txn(Etcd.TxnRequest(
            compare: [condition],
            success: [.put(Etcd.PutRequest(key: request.key, value: request.newValue))],
            failure: [.range(Etcd.RangeRequest(key: request.key))]))
    }

    /// What CompareAndSwap answers, from the Txn's outcome.
    static func swapResult(_ response: Etcd.TxnResponse, _ request: CompareAndSwapRequest) -> (succeeded: Bool, current: [UInt8]?) {
        if response.succeeded { return (true, request.expectAbsent ? nil : request.expectedValue) }
        guard case .range(let read)? = response.responses.first else { return (false, nil) }
        return (false, read.kvs.first?.value)
    }

    /// Decodes a logged command: the store's own, or a grey.v1 request from an older log.
    static func decode(_ bytes: [UInt8]) -> MVCCCommand? {
        if let command = MVCCCommand(bytes) { return command }
        guard let kind = bytes.first else { return nil }
        let body = Array(bytes.dropFirst())
        switch kind {
        case 1: return (try? PutRequest(decoding: body)).map(put)
        case 2: return (try? DeleteRequest(decoding: body)).map(delete)
        case 3: return (try? CompareAndSwapRequest(decoding: body)).map(compareAndSwap)
        default: return nil
        }
    }
}
