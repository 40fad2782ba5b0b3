/// Why the store could not do what was asked. Every RocksDB error string becomes one of these
/// at the boundary, with the operation that failed.
public enum StorageError: Error, Equatable, Sendable, CustomStringConvertible {
    /// RocksDB reported an error.
    case rocksDB(operation: String, message: String)
    /// The data directory holds something inconsistent; the node must not serve from it.
    case corrupted(String)
    /// The data directory belongs to another node or cluster.
    case foreignDataDirectory(String)
    /// A snapshot file or stream is truncated or damaged; nothing was installed from it.
    case badSnapshot(String)
    /// A file outside RocksDB could not be read or written.
    case io(String)

    public var description: String {
        switch self {
        case let .rocksDB(operation, message): "storage error during \(operation): \(message)"
        case .corrupted(let reason): "data directory is damaged: \(reason)"
        case .foreignDataDirectory(let reason): "data directory belongs elsewhere: \(reason)"
        case .badSnapshot(let reason): "snapshot is damaged: \(reason)"
        case .io(let reason): reason
        }
    }
}
