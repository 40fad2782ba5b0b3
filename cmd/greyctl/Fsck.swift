import ArgumentParser
import Foundation
import GreyMVCC
import GreyRaft
import GreyStorage
import GreyWire

/// `greyctl fsck --data-dir D`: checks a stopped node's data directory — RocksDB's own
/// checksums, log continuity, hard state against the log, applied ≤ commit, and the MVCC store
/// read end to end (`MVCCStore.check`) — and says what is wrong, or what it holds.
struct Fsck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check a (stopped) node's data directory.")
    @Option(name: .customLong("data-dir"), help: "The data directory to check.") var dataDir: String
    @Option(name: .shortAndLong, help: "table or json.") var output: OutputFormat = .table

    func run() async throws {
        try await reporting {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dataDir, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("no data directory at \(dataDir)")
            }
            let storage = try RaftStorage(existingDirectory: dataDir)
            let state = try storage.load()
            let restored = try storage.isRestoredSeed()
            let store = try MVCCStore(storage: storage).check()
            let node = try storage.nodeID().map { String($0.rawValue) } ?? (restored ? "none yet (restored, never started)" : "?")
            let first = state.entries.first?.index.rawValue ?? (state.snapshot?.index.rawValue ?? 0) + 1
            let last = state.entries.last?.index.rawValue ?? state.snapshot?.index.rawValue ?? 0
            if output == .json {
                printJSON([
                    "ok": true, "node_id": node, "term": state.hardState.term.rawValue,
                    "voted_for": state.hardState.votedFor.map { "\($0.rawValue)" } ?? "none",
                    "commit_index": state.hardState.commit.rawValue, "applied_index": state.appliedIndex.rawValue,
                    "first_index": first, "last_index": last, "entries": state.entries.count,
                    "snapshot_index": state.snapshot?.index.rawValue ?? 0, "restored_not_started": restored,
                    "revision": store.revision, "compact_revision": store.compacted, "keys": store.keys, "versions": store.versions,
                    "compaction_due": store.compactionDue ?? 0,
                    "alarms": store.alarms.members.map { "memberID:\($0.memberID) alarm:\($0.alarm.name)" },
                ])
            } else {
                if restored {
                    print("ok: restored from a snapshot at index \(state.snapshot?.index.rawValue ?? 0), applied \(state.appliedIndex.rawValue); not yet started (no node id until greyd adopts it)")
                    return
                }
                print("ok: node \(node), term \(state.hardState.term.rawValue), log \(first)...\(last) (\(state.entries.count) entries), commit \(state.hardState.commit.rawValue), applied \(state.appliedIndex.rawValue); store at revision \(store.revision) (compacted through \(store.compacted)): \(store.keys) keys, \(store.versions) versions"
                    + (store.compactionDue.map { "; the versions compaction \($0) made unreachable are still being removed (greyd goes on with it when it starts)" } ?? "")
                    + store.alarms.members.map { "; alarm \($0.alarm.name) raised by member \($0.memberID)" }.joined())
            }
        }
    }
}
