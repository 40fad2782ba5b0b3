import GreyProto

// Swift mirrors of the Raft peer messages in Protos/grey/v1/cluster.proto.

/// What a log entry carries (`grey.v1.EntryType`).
public enum EntryType: UInt32, Sendable, CaseIterable {
    case command = 0
    case noop = 1
    case configChange = 2
}

/// One Raft log entry (`grey.v1.Entry`).
public struct Entry: ProtobufMessage {
    public var term: UInt64
    public var index: UInt64
    public var type: EntryType
    public var data: [UInt8]

    public init(term: UInt64 = 0, index: UInt64 = 0, type: EntryType = .command, data: [UInt8] = []) {
        self.term = term
        self.index = index
        self.type = type
        self.data = data
    }

    public static let descriptor = protobufDescriptor(Grey__V1__Entry.self, grey__v1__entry__init)

    public init(c: Grey__V1__Entry) throws(WireError) {
        self.init(
            term: c.term, index: c.index,
            type: try decodeEnum(EntryType.self, c.type.rawValue, message: "Entry", field: "type"),
            data: [UInt8](c.data))
    }

    public func makeC(in arena: CArena) -> UnsafeMutablePointer<Grey__V1__Entry> {
        let c = arena.message(Grey__V1__Entry.self, grey__v1__entry__init)
        c.pointee.term = term
        c.pointee.index = index
        c.pointee.type = Grey__V1__EntryType(rawValue: type.rawValue)
        c.pointee.data = arena.binary(data)
        return c
    }
}

/// `grey.v1.RequestVoteRequest`.
public struct RequestVoteRequest: ProtobufMessage {
    public var term: UInt64
    public var candidateID: UInt64
    public var lastLogIndex: UInt64
    public var lastLogTerm: UInt64
    public var preVote: Bool
    public var leadershipTransfer: Bool

    public init(
        term: UInt64 = 0, candidateID: UInt64 = 0, lastLogIndex: UInt64 = 0, lastLogTerm: UInt64 = 0,
        preVote: Bool = false, leadershipTransfer: Bool = false
    ) {
        self.term = term
        self.candidateID = candidateID
        self.lastLogIndex = lastLogIndex
        self.lastLogTerm = lastLogTerm
        self.preVote = preVote
        self.leadershipTransfer = leadershipTransfer
    }

    public static let descriptor = protobufDescriptor(Grey__V1__RequestVoteRequest.self, grey__v1__request_vote_request__init)

    public init(c: Grey__V1__RequestVoteRequest) {
        self.init(
            term: c.term, candidateID: c.candidate_id, lastLogIndex: c.last_log_index, lastLogTerm: c.last_log_term,
            preVote: c.pre_vote != 0, leadershipTransfer: c.leadership_transfer != 0)
    }

    public func makeC(in arena: CArena) -> UnsafeMutablePointer<Grey__V1__RequestVoteRequest> {
        let c = arena.message(Grey__V1__RequestVoteRequest.self, grey__v1__request_vote_request__init)
        c.pointee.term = term
        c.pointee.candidate_id = candidateID
        c.pointee.last_log_index = lastLogIndex
        c.pointee.last_log_term = lastLogTerm
        c.pointee.pre_vote = preVote ? 1 : 0
        c.pointee.leadership_transfer = leadershipTransfer ? 1 : 0
        return c
    }
}

/// `grey.v1.RequestVoteResponse`.
public struct RequestVoteResponse: ProtobufMessage {
    public var term: UInt64
    public var voteGranted: Bool
    public var preVote: Bool
    public var voterID: UInt64

    public init(term: UInt64 = 0, voteGranted: Bool = false, preVote: Bool = false, voterID: UInt64 = 0) {
        self.term = term
        self.voteGranted = voteGranted
        self.preVote = preVote
        self.voterID = voterID
    }

    public static let descriptor = protobufDescriptor(Grey__V1__RequestVoteResponse.self, grey__v1__request_vote_response__init)

    public init(c: Grey__V1__RequestVoteResponse) {
        self.init(term: c.term, voteGranted: c.vote_granted != 0, preVote: c.pre_vote != 0, voterID: c.voter_id)
    }

    public func makeC(in arena: CArena) -> UnsafeMutablePointer<Grey__V1__RequestVoteResponse> {
        let c = arena.message(Grey__V1__RequestVoteResponse.self, grey__v1__request_vote_response__init)
        c.pointee.term = term
        c.pointee.vote_granted = voteGranted ? 1 : 0
        c.pointee.pre_vote = preVote ? 1 : 0
        c.pointee.voter_id = voterID
        return c
    }
}

/// `grey.v1.AppendEntriesRequest`; with no entries it is a heartbeat.
public struct AppendEntriesRequest: ProtobufMessage {
    public var term: UInt64
    public var leaderID: UInt64
    public var prevLogIndex: UInt64
    public var prevLogTerm: UInt64
    public var entries: [Entry]
    public var leaderCommit: UInt64
    public var readContext: UInt64

    public init(
        term: UInt64 = 0, leaderID: UInt64 = 0, prevLogIndex: UInt64 = 0, prevLogTerm: UInt64 = 0,
        entries: [Entry] = [], leaderCommit: UInt64 = 0, readContext: UInt64 = 0
    ) {
        self.term = term
        self.leaderID = leaderID
        self.prevLogIndex = prevLogIndex
        self.prevLogTerm = prevLogTerm
        self.entries = entries
        self.leaderCommit = leaderCommit
        self.readContext = readContext
    }

    public static let descriptor = protobufDescriptor(Grey__V1__AppendEntriesRequest.self, grey__v1__append_entries_request__init)

    public init(c: Grey__V1__AppendEntriesRequest) throws(WireError) {
        self.init(
            term: c.term, leaderID: c.leader_id, prevLogIndex: c.prev_log_index, prevLogTerm: c.prev_log_term,
            entries: try decodeRepeated(Entry.self, count: c.n_entries, c.entries),
            leaderCommit: c.leader_commit, readContext: c.read_context)
    }

    public func makeC(in arena: CArena) -> UnsafeMutablePointer<Grey__V1__AppendEntriesRequest> {
        let c = arena.message(Grey__V1__AppendEntriesRequest.self, grey__v1__append_entries_request__init)
        c.pointee.term = term
        c.pointee.leader_id = leaderID
        c.pointee.prev_log_index = prevLogIndex
        c.pointee.prev_log_term = prevLogTerm
        (c.pointee.n_entries, c.pointee.entries) = arena.repeated(entries)
        c.pointee.leader_commit = leaderCommit
        c.pointee.read_context = readContext
        return c
    }
}

/// `grey.v1.AppendEntriesResponse`.
public struct AppendEntriesResponse: ProtobufMessage {
    public var term: UInt64
    public var success: Bool
    public var followerID: UInt64
    public var matchIndex: UInt64
    public var conflictIndex: UInt64
    public var conflictTerm: UInt64
    public var lastLogIndex: UInt64
    public var readContext: UInt64

    public init(
        term: UInt64 = 0, success: Bool = false, followerID: UInt64 = 0, matchIndex: UInt64 = 0,
        conflictIndex: UInt64 = 0, conflictTerm: UInt64 = 0, lastLogIndex: UInt64 = 0, readContext: UInt64 = 0
    ) {
        self.term = term
        self.success = success
        self.followerID = followerID
        self.matchIndex = matchIndex
        self.conflictIndex = conflictIndex
        self.conflictTerm = conflictTerm
        self.lastLogIndex = lastLogIndex
        self.readContext = readContext
    }

    public static let descriptor = protobufDescriptor(Grey__V1__AppendEntriesResponse.self, grey__v1__append_entries_response__init)

    public init(c: Grey__V1__AppendEntriesResponse) {
        self.init(
            term: c.term, success: c.success != 0, followerID: c.follower_id, matchIndex: c.match_index,
            conflictIndex: c.conflict_index, conflictTerm: c.conflict_term, lastLogIndex: c.last_log_index,
            readContext: c.read_context)
    }

    public func makeC(in arena: CArena) -> UnsafeMutablePointer<Grey__V1__AppendEntriesResponse> {
        let c = arena.message(Grey__V1__AppendEntriesResponse.self, grey__v1__append_entries_response__init)
        c.pointee.term = term
        c.pointee.success = success ? 1 : 0
        c.pointee.follower_id = followerID
        c.pointee.match_index = matchIndex
        c.pointee.conflict_index = conflictIndex
        c.pointee.conflict_term = conflictTerm
        c.pointee.last_log_index = lastLogIndex
        c.pointee.read_context = readContext
        return c
    }
}

/// One chunk of a snapshot (`grey.v1.InstallSnapshotRequest`).
public struct InstallSnapshotRequest: ProtobufMessage {
    public var term: UInt64
    public var leaderID: UInt64
    public var lastIncludedIndex: UInt64
    public var lastIncludedTerm: UInt64
    public var configuration: Configuration?
    public var offset: UInt64
    public var data: [UInt8]
    public var done: Bool
    public var chunkCRC32C: UInt32
    public var totalSize: UInt64

    public init(
        term: UInt64 = 0, leaderID: UInt64 = 0, lastIncludedIndex: UInt64 = 0, lastIncludedTerm: UInt64 = 0,
        configuration: Configuration? = nil, offset: UInt64 = 0, data: [UInt8] = [], done: Bool = false,
        chunkCRC32C: UInt32 = 0, totalSize: UInt64 = 0
    ) {
        self.term = term
        self.leaderID = leaderID
        self.lastIncludedIndex = lastIncludedIndex
        self.lastIncludedTerm = lastIncludedTerm
        self.configuration = configuration
        self.offset = offset
        self.data = data
        self.done = done
        self.chunkCRC32C = chunkCRC32C
        self.totalSize = totalSize
    }

    public static let descriptor = protobufDescriptor(Grey__V1__InstallSnapshotRequest.self, grey__v1__install_snapshot_request__init)

    public init(c: Grey__V1__InstallSnapshotRequest) throws(WireError) {
        self.init(
            term: c.term, leaderID: c.leader_id, lastIncludedIndex: c.last_included_index,
            lastIncludedTerm: c.last_included_term, configuration: try decodeNested(Configuration.self, c.configuration),
            offset: c.offset, data: [UInt8](c.data), done: c.done != 0, chunkCRC32C: c.chunk_crc32c,
            totalSize: c.total_size)
    }

    public func makeC(in arena: CArena) -> UnsafeMutablePointer<Grey__V1__InstallSnapshotRequest> {
        let c = arena.message(Grey__V1__InstallSnapshotRequest.self, grey__v1__install_snapshot_request__init)
        c.pointee.term = term
        c.pointee.leader_id = leaderID
        c.pointee.last_included_index = lastIncludedIndex
        c.pointee.last_included_term = lastIncludedTerm
        c.pointee.configuration = configuration?.makeC(in: arena)
        c.pointee.offset = offset
        c.pointee.data = arena.binary(data)
        c.pointee.done = done ? 1 : 0
        c.pointee.chunk_crc32c = chunkCRC32C
        c.pointee.total_size = totalSize
        return c
    }
}

/// `grey.v1.InstallSnapshotResponse`.
public struct InstallSnapshotResponse: ProtobufMessage {
    public var term: UInt64
    public var followerID: UInt64
    public var nextOffset: UInt64
    public var installed: Bool

    public init(term: UInt64 = 0, followerID: UInt64 = 0, nextOffset: UInt64 = 0, installed: Bool = false) {
        self.term = term
        self.followerID = followerID
        self.nextOffset = nextOffset
        self.installed = installed
    }

    public static let descriptor = protobufDescriptor(Grey__V1__InstallSnapshotResponse.self, grey__v1__install_snapshot_response__init)

    public init(c: Grey__V1__InstallSnapshotResponse) {
        self.init(term: c.term, followerID: c.follower_id, nextOffset: c.next_offset, installed: c.installed != 0)
    }

    public func makeC(in arena: CArena) -> UnsafeMutablePointer<Grey__V1__InstallSnapshotResponse> {
        let c = arena.message(Grey__V1__InstallSnapshotResponse.self, grey__v1__install_snapshot_response__init)
        c.pointee.term = term
        c.pointee.follower_id = followerID
        c.pointee.next_offset = nextOffset
        c.pointee.installed = installed ? 1 : 0
        return c
    }
}

/// `grey.v1.TimeoutNowRequest`.
public struct TimeoutNowRequest: ProtobufMessage {
    public var term: UInt64
    public var leaderID: UInt64

    public init(term: UInt64 = 0, leaderID: UInt64 = 0) {
        self.term = term
        self.leaderID = leaderID
    }

    public static let descriptor = protobufDescriptor(Grey__V1__TimeoutNowRequest.self, grey__v1__timeout_now_request__init)

    public init(c: Grey__V1__TimeoutNowRequest) {
        self.init(term: c.term, leaderID: c.leader_id)
    }

    public func makeC(in arena: CArena) -> UnsafeMutablePointer<Grey__V1__TimeoutNowRequest> {
        let c = arena.message(Grey__V1__TimeoutNowRequest.self, grey__v1__timeout_now_request__init)
        c.pointee.term = term
        c.pointee.leader_id = leaderID
        return c
    }
}

/// `grey.v1.TimeoutNowResponse`.
public struct TimeoutNowResponse: ProtobufMessage {
    public var term: UInt64

    public init(term: UInt64 = 0) {
        self.term = term
    }

    public static let descriptor = protobufDescriptor(Grey__V1__TimeoutNowResponse.self, grey__v1__timeout_now_response__init)

    public init(c: Grey__V1__TimeoutNowResponse) {
        self.init(term: c.term)
    }

    public func makeC(in arena: CArena) -> UnsafeMutablePointer<Grey__V1__TimeoutNowResponse> {
        let c = arena.message(Grey__V1__TimeoutNowResponse.self, grey__v1__timeout_now_response__init)
        c.pointee.term = term
        return c
    }
}
