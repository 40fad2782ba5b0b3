import Dispatch

extension DispatchQueue {
    /// Runs blocking `work` (RocksDB, file I/O) on this queue and awaits its result, so the
    /// cooperative thread pool and the NIO event loops never block on disk. Nonsending: the
    /// caller (the node, on its event loop) is resumed directly, with no stop in the global pool.
    nonisolated(nonsending) func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            self.async { continuation.resume(with: Result { try work() }) }
        }
    }
}
