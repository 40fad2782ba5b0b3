import NIOConcurrencyHelpers

/// Bytes of request bodies a server holds before their handlers take them, across all its
/// connections: what a client can make the server buffer by starting messages it never
/// finishes. Each connection's share is also bounded by its HTTP/2 receive window, which is
/// reopened only as handlers take messages (`GRPCServerConnectionHandler`); this bounds the
/// sum, however many connections there are.
public final class RequestBodyBudget: Sendable {
    /// The most the server holds at once.
    public let limitBytes: Int
    private let held = NIOLockedValueBox(0)

    public init(limitBytes: Int) {
        self.limitBytes = limitBytes
    }

    /// Bytes held now.
    public var heldBytes: Int { held.withLockedValue { $0 } }

    /// Takes `bytes` from the budget; false (and nothing taken) when that would pass the limit.
    func reserve(_ bytes: Int) -> Bool {
        held.withLockedValue { current in
            guard current + bytes <= limitBytes else { return false }
            current += bytes
            return true
        }
    }

    /// Gives back bytes taken by `reserve`.
    func release(_ bytes: Int) {
        guard bytes > 0 else { return }
        held.withLockedValue { $0 -= bytes }
    }
}
