import GreyRaft
import NIOCore
import Tracing

/// Raft messages from peers: stepped into the core, and a vote's or an append's answer handed
/// back to the RPC that brought it (`dispatch` resumes the waiter).
extension GreyNode {
    /// Steps a peer's message into the core; with `expectsReply`, waits for the core's answer
    /// (a vote, or an append's acknowledgement) and returns it. `connectionClosed` is the
    /// closing of the connection it came on (`watchConnection`).
    ///
    /// Runs on the caller's loop (the peer connection's): the answer resumes the call there, so
    /// the acknowledgement of an append is encoded and written on that loop while the node's
    /// loop goes on to apply what the append's commit index released. Resumed on the node's
    /// loop, the reply waited behind that apply (~100 µs of a one-stream write, REPORT.md).
    nonisolated(nonsending) func handle(_ envelope: Envelope, expectsReply: Bool, connectionClosed: EventLoopFuture<Void>? = nil) async throws -> Message? {
        let call = ServiceContext.current
        guard expectsReply else {
            try await step(envelope, call: call, connectionClosed: connectionClosed)
            return nil
        }
        let id = waiterIDs.wrappingAdd(1, ordering: .relaxed).oldValue
        let tagged = { var tagged = envelope; tagged.correlation = id; return tagged }()
        // A caller that gives up (deadline, vanished client) takes its waiter away, and its
        // late reply is dropped; one that gives up before its waiter is in place leaves a
        // waiter the core's answer (or the node's stop) still resumes.
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                eventLoop.execute {
                    self.assumeIsolated { node in
                        // The waiter is in place before the core can answer.
                        node.replyWaiters[id] = continuation
                        do {
                            try node.step(tagged, call: call, connectionClosed: connectionClosed)
                        } catch {
                            node.replyWaiters[id] = nil
                            continuation.resume(throwing: error)
                        }
                    }
                }
            }
        } onCancel: {
            Task { await self.abandonWaiter(id) }
        }
    }

    private func step(_ envelope: Envelope, call: ServiceContext?, connectionClosed: EventLoopFuture<Void>?) throws {
        try ensureRunning()
        if let call { traceAppend(envelope, call: call) }
        if let connectionClosed { watchConnection(connectionClosed, of: envelope.from) }
        core.step(envelope, at: now)
        kick()
    }

    private func abandonWaiter(_ id: UInt64) {
        replyWaiters.removeValue(forKey: id)?.resume(throwing: CancellationError())
    }

    func receive(_ envelope: Envelope) {
        core.step(envelope, at: now)
        kick()
    }
}
