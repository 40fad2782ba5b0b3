import NIOCore

extension EventLoopFuture where Value: Sendable {
    /// The future's value, awaited without leaving the caller's executor.
    ///
    /// NIO's `get()` is an ordinary nonisolated async function, so it runs on Swift's global
    /// pool: a node on an event loop awaiting a reply would wake a pool thread to wait and then
    /// wake its loop again to go on — two thread switches per peer call. Resumed from the loop
    /// that completes the future, this one costs none when that is the caller's own loop.
    @inlinable
    nonisolated(nonsending) public func value() async throws -> Value {
        try await withUnsafeThrowingContinuation { continuation in
            self.whenComplete { continuation.resume(with: $0) }
        }
    }
}
