/// One unary gRPC method: its path and the message types it takes and returns.
public struct GRPCMethod<Request: ProtobufMessage, Response: ProtobufMessage>: Sendable {
    /// Fully qualified service name, such as `grey.v1.KV`.
    public let service: String
    /// Method name within the service, such as `Put`.
    public let name: String

    public init(service: String, name: String) {
        self.service = service
        self.name = name
    }

    /// The HTTP/2 `:path` of the method: `/grey.v1.KV/Put`.
    public var path: String { "/\(service)/\(name)" }
}

/// The methods of `grey.v1.KV` (Protos/grey/v1/kv.proto).
public enum KVMethods {
    public static let service = "grey.v1.KV"
    public static let put = GRPCMethod<PutRequest, PutResponse>(service: service, name: "Put")
    public static let get = GRPCMethod<GetRequest, GetResponse>(service: service, name: "Get")
    public static let delete = GRPCMethod<DeleteRequest, DeleteResponse>(service: service, name: "Delete")
    public static let compareAndSwap = GRPCMethod<CompareAndSwapRequest, CompareAndSwapResponse>(service: service, name: "CompareAndSwap")
}

/// The methods of `grey.v1.ClusterService` (Protos/grey/v1/cluster.proto).
public enum ClusterMethods {
    public static let service = "grey.v1.ClusterService"
    public static let requestVote = GRPCMethod<RequestVoteRequest, RequestVoteResponse>(service: service, name: "RequestVote")
    public static let appendEntries = GRPCMethod<AppendEntriesRequest, AppendEntriesResponse>(service: service, name: "AppendEntries")
    public static let installSnapshot = GRPCMethod<InstallSnapshotRequest, InstallSnapshotResponse>(service: service, name: "InstallSnapshot")
    public static let timeoutNow = GRPCMethod<TimeoutNowRequest, TimeoutNowResponse>(service: service, name: "TimeoutNow")
    public static let joinCluster = GRPCMethod<JoinClusterRequest, JoinClusterResponse>(service: service, name: "JoinCluster")
    public static let leaveCluster = GRPCMethod<LeaveClusterRequest, LeaveClusterResponse>(service: service, name: "LeaveCluster")
    public static let getClusterStatus = GRPCMethod<GetClusterStatusRequest, GetClusterStatusResponse>(service: service, name: "GetClusterStatus")
    public static let promoteMember = GRPCMethod<PromoteMemberRequest, PromoteMemberResponse>(service: service, name: "PromoteMember")
    public static let transferLeadership = GRPCMethod<TransferLeadershipRequest, TransferLeadershipResponse>(service: service, name: "TransferLeadership")
}
