// Membership changes, one server at a time (§4.1–4.3): learners first, then promotion.

extension RaftNode {
    /// Proposes a membership change. Refused while another is uncommitted, and until this
    /// leader has committed an entry of its own term (the fix for single-server changes
    /// across leader changes described on raft-dev, 2015).
    @discardableResult
    public mutating func proposeConfigChange(_ change: ConfigChange) throws(RaftError) -> LogIndex {
        try checkCanPropose()
        let guarded = !config.brokenVariants.contains(.configChangeBeforeNoop)
        guard !guarded || (pendingConfigIndex <= commitIndex && log.term(at: commitIndex) == term) else { throw .configChangeInProgress }
        if let refusal = configuration.refusal(of: change) { throw .invalidConfigChange(refusal) }
        if case .promote(let learner) = change, let match = progress[learner]?.match, match < commitIndex {
            // A voter that is far behind counts toward the quorum but cannot help commit: with
            // one other node down, the cluster would stall until it caught up (etcd refuses too).
            throw .invalidConfigChange("learner \(learner.rawValue) has not caught up with the leader (it holds through \(match.rawValue) of \(commitIndex.rawValue) committed); try again once it has")
        }
        return appendAsLeader(.config(change, result: configuration.applying(change)))
    }
}
