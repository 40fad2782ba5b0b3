import Foundation
import GreyStorage
import NIOConcurrencyHelpers

/// How greyd leaves the process. `exit()` runs RocksDB's C++ static destructors, which raced
/// its background threads and a database that a loop thread was still closing: a clean
/// shutdown under load ended in "terminate called without an active exception" or a crash
/// trace about one time in three. So greyd syncs the WAL, stops the database's background work
/// and leaves with `_exit`, which runs none of them. Nothing is lost by it: every acknowledged
/// write was synced before it was acknowledged, and the WAL is synced here.
enum ProcessExit {
    /// The node's database once it is open.
    static let storage = NIOLockedValueBox<RaftStorage?>(nil)

    static func now(_ code: Int32) -> Never {
        storage.withLockedValue { $0 }?.prepareForExit()
        _exit(code)
    }

    /// Leaves after the storage failed, touching the database no more: a RocksDB file writer
    /// that failed aborts the process on its next write (Debian builds RocksDB with
    /// assertions), and syncing the WAL would be one. Nothing is lost: what was acknowledged
    /// was synced, and a restart replays the log over what the applies left.
    static func afterStorageFailure() -> Never {
        _exit(74)  // EX_IOERR
    }
}
