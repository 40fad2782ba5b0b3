import GreyRaft

/// The log line for a change of this node's role, as the core reports it. Pre-votes are left
/// out: a node cut off from the others makes one every election timeout, and they change
/// nothing; the candidacy that follows a won pre-vote, and its outcome, are logged.
enum RoleLog {
    static func line(_ role: Role, leader: NodeID?, term: Term, previous: Role) -> String? {
        switch role {
        case .leader:
            "became leader in term \(term.rawValue)"
        case .candidate:
            "campaigning in term \(term.rawValue)"
        case .follower:
            if let leader {
                "following node \(leader.rawValue) in term \(term.rawValue)"
            } else if previous == .leader {
                "stepped down in term \(term.rawValue): no word from a majority for an election timeout, or a newer term"
            } else {
                nil
            }
        case .preCandidate:
            nil
        }
    }
}
