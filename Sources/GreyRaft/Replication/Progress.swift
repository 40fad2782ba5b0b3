/// The leader's view of one follower's replication (§5.3, and etcd's progress states).
struct Progress: Sendable {
    enum State: Sendable, Equatable {
        /// Unsure where the follower's log ends: one AppendEntries at a time until one succeeds.
        case probe
        /// Known position: AppendEntries pipelined without waiting for acks, within the window.
        case replicate
        /// Behind the leader's log start: waiting for a snapshot to be installed.
        case snapshot(LogIndex)
    }

    var match: LogIndex = 0
    var next: LogIndex
    var state: State = .probe
    /// In probe state, a message is out and we wait for its answer or the next heartbeat.
    var probeSent = false
    /// Last indexes of AppendEntries sent and not yet acknowledged, oldest first.
    var inflight: [(last: LogIndex, bytes: Int)] = []
    var inflightBytes = 0
    /// Heard from since the last check-quorum round.
    var recentActive = false
    /// The leader's tick when this follower last answered it; nil: not yet in this term.
    var lastHeardTick: Int? = nil
    /// `match` when the last heartbeat went out, and how many heartbeats saw it unchanged
    /// with messages outstanding: how a lost AppendEntries is noticed and re-sent.
    var matchAtLastHeartbeat: LogIndex = 0
    /// The highest commit index this follower has been told.
    var commitSent: LogIndex = 0
    var stalledHeartbeats = 0

    init(next: LogIndex) {
        self.next = next
    }

    /// Whether another AppendEntries with entries may be sent now.
    func canSend(maxInflightMessages: Int, maxInflightBytes: Int) -> Bool {
        switch state {
        case .probe: !probeSent
        case .replicate: inflight.count < maxInflightMessages && inflightBytes < maxInflightBytes
        case .snapshot: false
        }
    }

    mutating func sent(last: LogIndex, bytes: Int) {
        switch state {
        case .probe:
            probeSent = true
        case .replicate:
            next = last.next
            inflight.append((last, bytes))
            inflightBytes += bytes
        case .snapshot:
            break
        }
    }

    /// Records an acknowledgement up to `index`; returns whether match moved.
    mutating func acknowledged(_ index: LogIndex) -> Bool {
        let moved = index > match
        if moved { match = index }
        if next <= index { next = index.next }
        while let first = inflight.first, first.last <= index {
            inflightBytes -= first.bytes
            inflight.removeFirst()
        }
        return moved
    }

    mutating func becomeProbe() {
        if case .snapshot(let index) = state {
            next = max(match.next, index.next)
        } else {
            next = match.next
        }
        state = .probe
        probeSent = false
        inflight.removeAll()
        inflightBytes = 0
    }

    mutating func becomeReplicate() {
        state = .replicate
        next = match.next
        probeSent = false
        inflight.removeAll()
        inflightBytes = 0
    }

    mutating func becomeSnapshot(_ index: LogIndex) {
        state = .snapshot(index)
        probeSent = false
        inflight.removeAll()
        inflightBytes = 0
    }
}
