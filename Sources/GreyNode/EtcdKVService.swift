import GreyMVCC
import GreyRPC
import GreyRaft
import GreyWire

/// etcd's `etcdserverpb.KV` on the node's port: Range, Put, DeleteRange, Txn and Compact on
/// the MVCC store, with etcd's consistency (a Range is linearizable unless it asks to be
/// serializable, which any member answers from what it has applied), request checks and
/// errors. Writes and linearizable reads go to the leader from any member.
enum EtcdKVService {
    static func register(on router: inout GRPCRouter, handle: NodeHandle, forwarder: LeaderForwarder) {
        router.register(EtcdKVMethods.range) { request, context in
            let node = try handle.node()
            try check { () throws(MVCCError) in try RequestRules.check(request) }
            if !request.serializable {
                if let answer = try await forwarder.forward(EtcdKVMethods.range, request, from: node, within: NodeServices.remaining(context)) {
                    return answer
                }
                _ = try await node.awaitReadable(lease: false)
            }
            var response = try await node.range(request)
            response.header = node.etcdHeader(revision: response.header?.revision ?? 0)
            return response
        }
        router.register(EtcdKVMethods.put) { request, context in
            let node = try handle.node()
            try check { () throws(MVCCError) in try RequestRules.check(request) }
            if let answer = try await forwarder.forward(EtcdKVMethods.put, request, from: node, within: NodeServices.remaining(context)) { return answer }
            guard case .put(var response) = try await write(.put(request), on: node) else { throw GRPCStatus(.internal, "a Put answered as something else") }
            response.header = node.etcdHeader(revision: response.header?.revision ?? 0)
            return response
        }
        router.register(EtcdKVMethods.deleteRange) { request, context in
            let node = try handle.node()
            try check { () throws(MVCCError) in try RequestRules.check(request) }
            if let answer = try await forwarder.forward(EtcdKVMethods.deleteRange, request, from: node, within: NodeServices.remaining(context)) { return answer }
            guard case .deleteRange(var response) = try await write(.deleteRange(request), on: node) else {
                throw GRPCStatus(.internal, "a DeleteRange answered as something else")
            }
            response.header = node.etcdHeader(revision: response.header?.revision ?? 0)
            return response
        }
        router.register(EtcdKVMethods.txn) { request, context in
            let node = try handle.node()
            try check { () throws(MVCCError) in try RequestRules.check(request) }
            var response: Etcd.TxnResponse
            if RequestRules.isReadOnly(request) {
                // Reads only: answered here, after a ReadIndex round unless every read is serializable.
                if !RequestRules.isSerializable(request) {
                    if let answer = try await forwarder.forward(EtcdKVMethods.txn, request, from: node, within: NodeServices.remaining(context)) {
                        return answer
                    }
                    _ = try await node.awaitReadable(lease: false)
                }
                response = try await node.evaluate(request)
            } else {
                if let answer = try await forwarder.forward(EtcdKVMethods.txn, request, from: node, within: NodeServices.remaining(context)) { return answer }
                guard case .txn(let written) = try await write(.txn(request), on: node) else { throw GRPCStatus(.internal, "a Txn answered as something else") }
                response = written
            }
            return node.etcdHeaders(response)
        }
        router.register(EtcdKVMethods.compact) { request, context in
            let node = try handle.node()
            if let answer = try await forwarder.forward(EtcdKVMethods.compact, request, from: node, within: NodeServices.remaining(context)) { return answer }
            guard case .compact(var response) = try await write(.compact(request), on: node) else {
                throw GRPCStatus(.internal, "a Compact answered as something else")
            }
            // physical: answer once this member has removed what the compaction made unreachable.
            if request.physical { try await node.awaitStoreCompaction() }
            response.header = node.etcdHeader(revision: response.header?.revision ?? 0)
            return response
        }
    }

    /// Proposes a write; a refusal (decided when applied, the same on every member) becomes etcd's error.
    private static func write(_ command: MVCCCommand, on node: GreyNode) async throws -> MVCCOutcome {
        let (outcome, _) = try await node.write(command)
        if case .refused(let error) = outcome { throw error.status }
        return outcome
    }

    private static func check(_ rule: () throws(MVCCError) -> Void) throws {
        do { try rule() } catch { throw error.status }
    }
}
