import Foundation
import Logging
import NIOConcurrencyHelpers

/// Lines for connections greyd refused (a failed TLS handshake, too many connections): the
/// first of a kind at once, then at most one every ten seconds with how many there were, so
/// a scanner or a misconfigured client in a loop does not flood the log.
final class RefusalLog: Sendable {
    private let logger: Logger
    private let state = NIOLockedValueBox([String: (lastLogged: ContinuousClock.Instant, since: Int)]())
    static let interval: Duration = .seconds(10)

    init(logger: Logger) {
        self.logger = logger
    }

    func note(peer: String, reason: String) {
        let kind = String(reason.prefix(60))
        let now = ContinuousClock.now
        let suppressed: Int? = state.withLockedValue { seen in
            if let entry = seen[kind], now - entry.lastLogged < Self.interval {
                seen[kind] = (entry.lastLogged, entry.since + 1)
                return nil
            }
            let count = seen[kind]?.since ?? 0
            seen[kind] = (now, 0)
            return count
        }
        guard let suppressed else { return }
        let more = suppressed > 0 ? " (and \(suppressed) more like it since the last line)" : ""
        logger.warning("refused a connection from \(peer): \(reason)\(more)")
    }
}
