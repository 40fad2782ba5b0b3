import GreyRaft
import GreyStorage
import GreyWire

/// Converts the core's messages to the gRPC messages of `grey.v1.ClusterService` and back.
/// Requests travel as RPC requests; the core's reply travels back as that RPC's response.
enum RaftWireMapping {
    // The log codec owns the one mapping of entries, disk and wire alike; AppendEntries
    // uses its message form directly rather than a round trip through bytes.
    static func entry(_ entry: LogEntry) -> GreyWire.Entry {
        LogEntryCodec.wireEntry(entry)
    }

    static func entry(_ wire: GreyWire.Entry) throws -> LogEntry {
        try LogEntryCodec.logEntry(wire)
    }

    static func requestVote(_ request: RequestVote, from: NodeID) -> RequestVoteRequest {
        RequestVoteRequest(
            term: request.term.rawValue, candidateID: from.rawValue, lastLogIndex: request.lastLogIndex.rawValue,
            lastLogTerm: request.lastLogTerm.rawValue, preVote: request.preVote, leadershipTransfer: request.leadershipTransfer)
    }

    static func requestVote(_ wire: RequestVoteRequest) -> RequestVote {
        RequestVote(
            term: Term(wire.term), lastLogIndex: LogIndex(wire.lastLogIndex), lastLogTerm: Term(wire.lastLogTerm),
            preVote: wire.preVote, leadershipTransfer: wire.leadershipTransfer)
    }

    static func voteResponse(_ response: VoteResponse, from: NodeID) -> RequestVoteResponse {
        RequestVoteResponse(term: response.term.rawValue, voteGranted: response.granted, preVote: response.preVote, voterID: from.rawValue)
    }

    static func voteResponse(_ wire: RequestVoteResponse) -> VoteResponse {
        VoteResponse(term: Term(wire.term), granted: wire.voteGranted, preVote: wire.preVote)
    }

    static func appendEntries(_ append: AppendEntries, from: NodeID) -> AppendEntriesRequest {
        AppendEntriesRequest(
            term: append.term.rawValue, leaderID: from.rawValue, prevLogIndex: append.prevLogIndex.rawValue,
            prevLogTerm: append.prevLogTerm.rawValue, entries: append.entries.map(entry), leaderCommit: append.leaderCommit.rawValue,
            readContext: append.readContext)
    }

    static func appendEntries(_ wire: AppendEntriesRequest) throws -> AppendEntries {
        AppendEntries(
            term: Term(wire.term), prevLogIndex: LogIndex(wire.prevLogIndex), prevLogTerm: Term(wire.prevLogTerm),
            entries: try wire.entries.map(entry), leaderCommit: LogIndex(wire.leaderCommit), readContext: wire.readContext)
    }

    /// On failure the rejected prevLogIndex travels in `match_index`, which success alone uses otherwise.
    static func appendResponse(_ response: AppendResponse, from: NodeID) -> AppendEntriesResponse {
        AppendEntriesResponse(
            term: response.term.rawValue, success: response.success, followerID: from.rawValue,
            matchIndex: (response.success ? response.matchIndex : response.rejectedIndex).rawValue,
            conflictIndex: response.conflictIndex.rawValue, conflictTerm: response.conflictTerm.rawValue,
            lastLogIndex: 0, readContext: response.readContext)
    }

    static func appendResponse(_ wire: AppendEntriesResponse) -> AppendResponse {
        AppendResponse(
            term: Term(wire.term), success: wire.success, matchIndex: wire.success ? LogIndex(wire.matchIndex) : 0,
            rejectedIndex: wire.success ? 0 : LogIndex(wire.matchIndex), conflictIndex: LogIndex(wire.conflictIndex),
            conflictTerm: Term(wire.conflictTerm), readContext: wire.readContext)
    }
}
