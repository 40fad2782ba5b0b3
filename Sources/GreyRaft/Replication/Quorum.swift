/// Majority arithmetic over a configuration's voters.
enum Quorum {
    /// The largest index that a majority of voters have reached (§5.3): sort the voters'
    /// match indexes descending and take the one at position quorum - 1.
    static func committedIndex(voters: Set<NodeID>, match: (NodeID) -> LogIndex) -> LogIndex {
        guard !voters.isEmpty else { return 0 }
        let indexes = voters.map(match).sorted(by: >)
        return indexes[voters.count / 2]
    }

    /// Whether the voters in `granted` form a majority.
    static func isMajority(_ granted: Set<NodeID>, of voters: Set<NodeID>) -> Bool {
        granted.intersection(voters).count >= voters.count / 2 + 1
    }
}
