import GreyRPC
import GreyRaft
import Tracing

/// A traced write on the leader, from its proposal until it is applied.
struct TracedProposal {
    /// The client call's server span: parent of propose, commit, apply.
    let call: ServiceContext
    /// From the entry's place in the log until it commits: parent of the leader's fsync and of
    /// one replicate span per follower.
    let commit: any Span
}

/// Spans for what the Raft loop does with a traced call's entry — the leader's propose, fsync,
/// replicate (per follower), commit and apply; a follower's fsync of the append that carried
/// it. The loop keeps them by log index, as the entry moves through Ready after Ready: a task's
/// trace context does not follow it there. Nothing here runs unless a traced call is in flight:
/// every hook is behind an `isEmpty` check or a `ServiceContext.current` that untraced calls
/// never set (`GRPCRouter.tracing`).
extension GreyNode {
    /// Whether any traced entry is on its way through this node's log.
    var tracingEntries: Bool { !tracedProposals.isEmpty || !tracedAppends.isEmpty }

    /// Records a traced call's proposal placed at `index`: its propose span (from `started`,
    /// when the write reached the node) ends now, its commit span starts.
    func traceProposal(at index: LogIndex, term: Term, call: ServiceContext, since started: DefaultTracerClock.Instant) {
        let propose = startSpan("propose", at: started, context: call)
        guard propose.isRecording else {
            propose.end()
            return
        }
        propose.attributes["grey.index"] = Int(index.rawValue)
        propose.attributes["grey.term"] = Int(term.rawValue)
        propose.end()
        let commit = startSpan("commit", context: call)
        commit.attributes["grey.index"] = Int(index.rawValue)
        tracedProposals[index] = TracedProposal(call: call, commit: commit)
    }

    /// Remembers the trace of a peer's append that carries entries, for the fsync span of the
    /// write that persists them (see `traceLogWrite`).
    func traceAppend(_ envelope: Envelope, call: ServiceContext) {
        guard case .appendEntries(let append) = envelope.message, let last = append.entries.last else { return }
        // Appends the log turned down leave their marks behind; a few dozen is plenty of history.
        if tracedAppends.count >= 64 { tracedAppends.removeAll() }
        tracedAppends[last.index] = call
    }

    /// An fsync span for each traced entry the synced log write of `ready` carried, under the
    /// leader's commit span or the follower's append span.
    func traceLogWrite(_ ready: Ready, started: DefaultTracerClock.Instant) {
        guard let first = ready.entries.first?.index, let last = ready.entries.last?.index else { return }
        let ended = DefaultTracerClock.now
        func fsync(under parent: ServiceContext) {
            let span = startSpan("fsync", at: started, context: parent)
            span.attributes["grey.entries"] = ready.entries.count
            span.attributes["grey.synced"] = ready.mustSync
            span.end(at: ended)
        }
        for (index, proposal) in tracedProposals where first <= index && index <= last { fsync(under: proposal.commit.context) }
        for (index, append) in tracedAppends where index <= last {
            if first <= index { fsync(under: append) }
            tracedAppends.removeValue(forKey: index)
        }
    }

    /// Replicate spans for the traced entries an append to `peer` carries, and the metadata
    /// that makes the follower's spans their children (the first one's, for a batch of several).
    func traceReplication(_ append: AppendEntries, to peer: NodeID) -> (spans: [any Span], metadata: [(String, String)]) {
        var spans: [any Span] = []
        var metadata: [(String, String)] = []
        for entry in append.entries {
            guard let proposal = tracedProposals[entry.index] else { continue }
            let span = startSpan("replicate", context: proposal.commit.context, ofKind: .client)
            span.attributes["grey.peer"] = Int(peer.rawValue)
            span.attributes["grey.entries"] = append.entries.count
            if metadata.isEmpty { metadata = CallTracing.metadata(for: span.context) }
            spans.append(span)
        }
        return (spans, metadata)
    }

    /// Ends a traced entry's commit span as its apply began, adds its apply span, and marks
    /// when its reply could start. `applied` tells whether the entry applied was the one
    /// proposed (a leader change can put another in its place).
    func traceApplied(_ proposal: TracedProposal, applied: Bool, from started: DefaultTracerClock.Instant, to ended: DefaultTracerClock.Instant, batch: Int) {
        if !applied { proposal.commit.setStatus(SpanStatus(code: .error, message: "dropped by a leader change")) }
        proposal.commit.end(at: started)
        guard applied else { return }
        let apply = startSpan("apply", at: started, context: proposal.call)
        apply.attributes["grey.entries"] = batch
        apply.end(at: ended)
        proposal.call.replyStart?.mark(at: ended)
    }

    /// Ends the spans of traced entries that will never commit here (the node stops).
    func abandonTraces(_ reason: String) {
        for proposal in tracedProposals.values {
            proposal.commit.setStatus(SpanStatus(code: .error, message: reason))
            proposal.commit.end()
        }
        tracedProposals = [:]
        tracedAppends = [:]
    }
}
