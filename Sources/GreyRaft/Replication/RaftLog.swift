/// The in-memory view of the Raft log: entries after a snapshot point. The runtime keeps
/// the durable copy; the core keeps this one to answer term and matching questions.
public struct RaftLog: Sendable {
    /// The last index covered by the snapshot (0 when there is none).
    public private(set) var snapshotIndex: LogIndex = 0
    public private(set) var snapshotTerm: Term = 0
    private var entries: [LogEntry] = []

    public init() {}

    /// Rebuilds the view from durable state at restart.
    public init(snapshotIndex: LogIndex, snapshotTerm: Term, entries: [LogEntry]) {
        self.snapshotIndex = snapshotIndex
        self.snapshotTerm = snapshotTerm
        self.entries = entries
        precondition(entries.enumerated().allSatisfy { $0.element.index == snapshotIndex + UInt64($0.offset + 1) }, "log has a gap")
    }

    public var lastIndex: LogIndex { entries.last?.index ?? snapshotIndex }
    public var lastTerm: Term { entries.last?.term ?? snapshotTerm }
    /// The first index still held as an entry.
    public var firstIndex: LogIndex { snapshotIndex.next }

    /// The term of the entry at `index`, or nil when it is compacted away or beyond the end.
    public func term(at index: LogIndex) -> Term? {
        if index == snapshotIndex { return snapshotTerm }
        guard index > snapshotIndex, index <= lastIndex else { return nil }
        return entries[Int(index.rawValue - snapshotIndex.rawValue - 1)].term
    }

    public func entry(at index: LogIndex) -> LogEntry? {
        guard index > snapshotIndex, index <= lastIndex else { return nil }
        return entries[Int(index.rawValue - snapshotIndex.rawValue - 1)]
    }

    /// Entries in `from...through`, stopping early once `maxBytes` is reached (at least one).
    public func entries(from: LogIndex, through: LogIndex, maxBytes: Int = .max) -> [LogEntry] {
        guard from <= through, from > snapshotIndex, through <= lastIndex else { return [] }
        let start = Int(from.rawValue - snapshotIndex.rawValue - 1)
        let end = Int(through.rawValue - snapshotIndex.rawValue - 1)
        var result: [LogEntry] = []
        var bytes = 0
        for offset in start...end {
            let entry = entries[offset]
            if !result.isEmpty && bytes + entry.approximateBytes > maxBytes { break }
            bytes += entry.approximateBytes
            result.append(entry)
        }
        return result
    }

    /// Whether a candidate's log is at least as up to date as this one (§5.4.1).
    public func isUpToDate(lastIndex otherIndex: LogIndex, lastTerm otherTerm: Term) -> Bool {
        otherTerm > lastTerm || (otherTerm == lastTerm && otherIndex >= lastIndex)
    }

    /// Whether this log holds an entry at `index` with `term`.
    public func matches(index: LogIndex, term: Term) -> Bool {
        self.term(at: index) == term
    }

    /// The first index of the entries with `term` ending at or before `index` (fast backtracking hint).
    func firstIndex(ofTermAt index: LogIndex) -> LogIndex {
        guard let term = term(at: index) else { return index }
        var first = index
        while first > firstIndex, self.term(at: first.previous) == term { first = first.previous }
        return first
    }

    /// The last index whose entry has `term`, if this log has any.
    func lastIndex(ofTerm term: Term) -> LogIndex? {
        var index = lastIndex
        while index > snapshotIndex, let current = self.term(at: index) {
            if current == term { return index }
            if current < term { return nil }
            index = index.previous
        }
        return snapshotTerm == term ? snapshotIndex : nil
    }

    /// Appends `entry`, which must directly follow the last one.
    mutating func append(_ entry: LogEntry) {
        precondition(entry.index == lastIndex.next, "append of \(entry.index) after \(lastIndex)")
        entries.append(entry)
    }

    /// Removes every entry at or after `index` (a conflicting suffix, §5.3).
    mutating func truncate(from index: LogIndex) {
        precondition(index > snapshotIndex, "cannot truncate into the snapshot at \(snapshotIndex)")
        guard index <= lastIndex else { return }
        entries.removeLast(Int(lastIndex.rawValue - index.rawValue + 1))
    }

    /// Drops entries through `index`, which a snapshot now covers.
    mutating func compact(through index: LogIndex, term: Term) {
        if index >= lastIndex {
            entries.removeAll()
        } else if index > snapshotIndex {
            entries.removeFirst(Int(index.rawValue - snapshotIndex.rawValue))
        }
        snapshotIndex = index
        snapshotTerm = term
    }

    /// Every entry held, oldest first.
    public var allEntries: [LogEntry] { entries }
}
