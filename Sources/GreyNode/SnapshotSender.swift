import Dispatch
import GreyRPC
import GreyRaft
import GreyStorage
import GreyWire

/// Streams one snapshot to one follower as InstallSnapshot chunks: one chunk in flight, each
/// with its CRC-32C; a chunk the follower lost or refused is sent again, a follower that
/// restarted gets the stream from byte 0. Reads run on `queue`, never on the caller's thread.
struct SnapshotSender {
    let source: SnapshotSource
    let channel: GRPCChannel
    let term: Term
    let leader: NodeID
    let queue: DispatchQueue
    var chunkBytes = 1 << 20
    var maxFailures = 10

    /// Thrown when the snapshot went stale before the follower took any of it: the leader
    /// compacted its log past the snapshot's index, so a follower that installed it would need
    /// another one at once. A follower that was down when the transfer began (its first chunk
    /// retried until it came back) got such a snapshot and then a second one: twice the time.
    struct Outdated: Error {
        let index: LogIndex
    }

    /// Sends until the follower says it installed the snapshot (or answers with a newer term);
    /// throws when the transfer cannot go on. `stillLeading` is asked before every chunk;
    /// `stillCurrent` (whether the leader's log still goes on from the snapshot's index) before
    /// every try of the first chunk — later, replacing the snapshot would throw away what was
    /// sent, and a transfer slower than the log's compaction would start over for ever.
    func run(stillLeading: @Sendable () async -> Bool, stillCurrent: @Sendable () async -> Bool) async throws -> InstallSnapshotResponse {
        let metadata = source.metadata
        let configuration = LogEntryCodec.wireConfiguration(metadata.configuration)
        var chunk = try await next()
        var failures = 0
        while true {
            guard await stillLeading() else { throw GRPCStatus(.cancelled, "no longer the leader of term \(term)") }
            if chunk.offset == 0, await !stillCurrent() { throw Outdated(index: metadata.index) }
            let request = InstallSnapshotRequest(
                term: term.rawValue, leaderID: leader.rawValue, lastIncludedIndex: metadata.index.rawValue,
                lastIncludedTerm: metadata.term.rawValue, configuration: configuration, offset: chunk.offset, data: chunk.data,
                done: chunk.done, chunkCRC32C: CRC32C.checksum(chunk.data))
            let response: InstallSnapshotResponse
            do {
                response = try await channel.call(ClusterMethods.installSnapshot, request, timeout: .seconds(30))
            } catch {
                failures += 1
                guard failures < maxFailures else { throw error }
                try await Task.sleep(for: .milliseconds(100 * failures))
                continue  // the same chunk again
            }
            if response.term > term.rawValue || response.installed { return response }
            let end = chunk.offset + UInt64(chunk.data.count)
            switch response.nextOffset {
            case end:
                failures = 0
                chunk = try await next()
            case chunk.offset:
                failures += 1  // refused (bad CRC, or a duplicate still being written): again
                guard failures < maxFailures else { throw GRPCStatus(.dataLoss, "follower keeps refusing chunk at \(chunk.offset)") }
                try await Task.sleep(for: .milliseconds(20 * failures))
            case 0:
                failures += 1
                guard failures < maxFailures else { throw GRPCStatus(.dataLoss, "follower keeps restarting the transfer") }
                let source = self.source
                try await queue.run { source.restart() }
                chunk = try await next()
            case let offset:
                throw GRPCStatus(.failedPrecondition, "follower asks for offset \(offset), which is not a chunk boundary")
            }
        }
    }

    private func next() async throws -> (offset: UInt64, data: [UInt8], done: Bool) {
        let source = self.source
        let chunkBytes = self.chunkBytes
        return try await queue.run { try source.nextChunk(maxBytes: chunkBytes) }
    }
}
