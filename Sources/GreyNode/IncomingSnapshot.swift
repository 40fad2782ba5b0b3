import GreyRaft
import GreyStorage
import GreyWire

#if canImport(Glibc)
import Glibc
#endif

/// A snapshot arriving from the leader, chunk by chunk, written to a file beside the
/// database and checked as it comes (each chunk's CRC by the caller, the stream's structure
/// and trailer CRC here), so nothing is installed from a damaged transfer and nothing but
/// one chunk is held in memory. Used by one task at a time, on a snapshot thread.
final class IncomingSnapshot: @unchecked Sendable {
    // @unchecked Sendable: the node actor hands it to one blocking call at a time.
    struct Identity: Equatable {
        var index: UInt64
        var term: UInt64
    }

    let identity: Identity
    let path: String
    private(set) var received: UInt64 = 0
    /// A chunk is being written; a duplicate arriving meanwhile is turned away.
    var busy = false
    private var descriptor: Int32
    private var decoder = SnapshotDecoder()

    /// Starts a new file at `path`, replacing any half-received one.
    init(path: String, identity: Identity) throws(StorageError) {
        self.path = path
        self.identity = identity
        descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw .io("cannot create \(path): \(String(cString: strerror(errno)))") }
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// Appends the next chunk after checking it continues a well-formed stream. Blocking.
    func append(_ data: [UInt8]) throws(StorageError) {
        try decoder.feed(data) { (_, _) throws(StorageError) in }
        var written = 0
        while written < data.count {
            let result = data.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, $0.count - written) }
            guard result > 0 else { throw .io("cannot write \(path): \(String(cString: strerror(errno)))") }
            written += result
        }
        received += UInt64(data.count)
    }

    /// After the last chunk: checks the trailer, makes the file durable, and returns what it holds.
    func finish() throws(StorageError) -> SnapshotMetadata {
        try decoder.finish()
        guard fsync(descriptor) == 0 else { throw .io("cannot sync \(path): \(String(cString: strerror(errno)))") }
        close(descriptor)
        descriptor = -1
        return decoder.metadata!
    }

    /// Forgets a transfer that will not complete.
    func discard() {
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
        unlink(path)
    }
}
