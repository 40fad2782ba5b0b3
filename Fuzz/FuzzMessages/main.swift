import GreyWire

// libFuzzer target: protobuf decoding (protobuf-c underneath) of every message Grey reads off
// the wire. The first byte picks the message type, the rest is its encoding. Whatever
// decodes must encode again and decode to the same message; nothing may crash or leak.

func roundTrip<Message: ProtobufMessage>(_ type: Message.Type, _ bytes: [UInt8]) {
    guard let message = try? Message(decoding: bytes) else { return }
    let again = try? Message(decoding: message.encoded())
    precondition(again == message, "\(Message.self) did not survive encode/decode")
}

let messageTypes: [@Sendable ([UInt8]) -> Void] = [
    { roundTrip(PutRequest.self, $0) }, { roundTrip(PutResponse.self, $0) },
    { roundTrip(GetRequest.self, $0) }, { roundTrip(GetResponse.self, $0) },
    { roundTrip(DeleteRequest.self, $0) }, { roundTrip(DeleteResponse.self, $0) },
    { roundTrip(CompareAndSwapRequest.self, $0) }, { roundTrip(CompareAndSwapResponse.self, $0) },
    { roundTrip(RequestVoteRequest.self, $0) }, { roundTrip(RequestVoteResponse.self, $0) },
    { roundTrip(AppendEntriesRequest.self, $0) }, { roundTrip(AppendEntriesResponse.self, $0) },
    { roundTrip(InstallSnapshotRequest.self, $0) }, { roundTrip(InstallSnapshotResponse.self, $0) },
    { roundTrip(TimeoutNowRequest.self, $0) }, { roundTrip(TimeoutNowResponse.self, $0) },
    { roundTrip(JoinClusterRequest.self, $0) }, { roundTrip(LeaveClusterRequest.self, $0) },
    { roundTrip(PromoteMemberRequest.self, $0) }, { roundTrip(TransferLeadershipRequest.self, $0) },
    { roundTrip(TransferLeadershipResponse.self, $0) }, { roundTrip(GetClusterStatusRequest.self, $0) },
    { roundTrip(GetClusterStatusResponse.self, $0) }, { roundTrip(Member.self, $0) },
    { roundTrip(ConfigChange.self, $0) }, { roundTrip(Configuration.self, $0) },
    { roundTrip(Entry.self, $0) }, { roundTrip(ResponseHeader.self, $0) },
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMessages(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    messageTypes[Int(bytes[0]) % messageTypes.count](Array(bytes.dropFirst()))
    return 0
}
