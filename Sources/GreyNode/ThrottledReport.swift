/// Troubles worth a log line (slow fsyncs, held loops), gathered so that a flood of them costs
/// one line per `interval`: the line says how many there were and the worst of them.
struct ThrottledReport {
    let interval: Duration
    private var count = 0
    private var worst: Duration = .zero
    /// When the last line was logged; nil before the first, which is logged at once.
    private var reportedAt: Duration?

    init(every interval: Duration) {
        self.interval = interval
    }

    /// Counts one occurrence that took `duration`.
    mutating func add(_ duration: Duration) {
        count += 1
        worst = max(worst, duration)
    }

    /// What a line logged at `now` should say, if one is due; the tally starts over with it.
    mutating func due(at now: Duration) -> (count: Int, worst: Duration)? {
        guard count > 0 else { return nil }
        if let reportedAt, now - reportedAt < interval { return nil }
        defer { (count, worst, reportedAt) = (0, .zero, now) }
        return (count, worst)
    }
}
