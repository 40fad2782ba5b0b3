import GreyWire

/// The store as of one moment, to be read on another thread: the reads of a view see every
/// apply made before `MVCCStore.view()` and none made after, wherever and whenever they run —
/// its RocksDB iterator pins that state, and a compaction step removing versions meanwhile does
/// not reach it. Ranges are read through one of these on the client loop that took the call,
/// not on the node's loop, where Raft's heartbeats and applies would wait for the scan.
public struct MVCCView: @unchecked Sendable {
    // @unchecked Sendable: the reader's one cursor is used by one thread at a time — the one
    // the view was handed to; nothing else holds it.
    let reader: MVCCReader

    /// Answers a Range as etcd does (see `MVCCReader.range`), from the state the view pinned.
    public func range(_ request: Etcd.RangeRequest) throws(MVCCError) -> Etcd.RangeResponse {
        try reader.range(request)
    }
}
