import NIOCore

/// Runs a task's nonisolated code on one NIO event loop instead of Swift's global pool.
///
/// A call's handler is started on its connection's loop with this as the task's executor
/// preference; when the node it calls runs on the same loop (its actor executor is that
/// loop), the request reaches the node, and the answer reaches the socket, without waking
/// another thread. On a 2-core machine each such wake-up is a context switch that costs more
/// than the work it carries.
public final class EventLoopTaskExecutor: TaskExecutor {
    public let eventLoop: any EventLoop

    public init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
