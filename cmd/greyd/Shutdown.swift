import Dispatch
import Foundation
import Logging
import ServiceLifecycle

/// greyd's shutdown as a swift-service-lifecycle `ServiceGroup`: on SIGTERM or SIGINT the group
/// shuts its steps down one after another, in the reverse of the order they are listed —
/// hand leadership off, stop accepting and drain the calls under way, halt the node — and
/// then greyd syncs and closes its storage (`ProcessExit`). A second signal during all this
/// leaves at once (the WAL still synced: nothing acknowledged is lost either way).
enum Shutdown {
    /// One step of the shutdown: waits for the group's graceful shutdown, then does `action`.
    struct Step: Service {
        let action: @Sendable () async -> Void

        func run() async throws {
            try? await gracefulShutdown()
            await action()
        }
    }

    /// Runs until a signal has taken every step, in order; a second signal exits at once.
    static func run(steps: [(name: String, action: @Sendable () async -> Void)], logger: Logger) async {
        let services = steps.reversed().map { step in
            ServiceGroupConfiguration.ServiceConfiguration(service: Step(action: step.action), serviceName: step.name)
        }
        var configuration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: quiet(logger))
        configuration.maximumGracefulShutdownDuration = .seconds(30)
        exitOnSecondSignal(logger: logger)
        try? await ServiceGroup(configuration: configuration).run()
    }

    /// The group's own lines (service started, finished) are below info: greyd says what
    /// matters itself.
    private static func quiet(_ logger: Logger) -> Logger {
        var quieter = logger
        quieter.logLevel = max(logger.logLevel, .warning)
        return quieter
    }

    /// Counts SIGTERM and SIGINT beside the group's own handling; the second one exits.
    private static func exitOnSecondSignal(logger: Logger) {
        let queue = DispatchQueue(label: "grey.second-signal")
        let count = SignalCount()
        for signalNumber in [SIGTERM, SIGINT] {
            signal(signalNumber, SIG_IGN)  // the default would end the process before any handler runs
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
            source.setEventHandler {
                guard count.increment() >= 2 else { return }
                logger.warning("a second signal: exiting at once, without finishing the shutdown")
                ProcessExit.now(1)
            }
            source.resume()
            sources.append(source)
        }
    }

    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []

    private final class SignalCount: @unchecked Sendable {
        // @unchecked Sendable: only touched on its signal queue.
        private var value = 0
        func increment() -> Int {
            value += 1
            return value
        }
    }
}
