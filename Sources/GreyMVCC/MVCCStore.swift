import Foundation
import GreyRaft
import GreyStorage
import GreyWire

/// The state machine: an etcd-style multi-version key-value store in the node's RocksDB.
///
/// One revision for the whole store, +1 per write command; every version of every key kept
/// until compacted, so a Range can read any revision not compacted yet and a watch can replay
/// the history (`MVCCKeys` has the layout). Applying writes the commands' changes and the
/// applied index in one atomic batch, so a crash never applies a log entry twice or skips one.
/// Blocking: call from a storage thread.
public final class MVCCStore: @unchecked Sendable {
    // @unchecked Sendable: the data is in RocksDB (thread-safe); `position` is behind a lock.
    static let family = RaftStorage.stateFamily
    let storage: RaftStorage
    /// The revision, compaction and alarms as of the last apply, so an apply does not read
    /// them back from RocksDB each time; nil until read, and after the state was replaced
    /// under the store (`reload()`).
    private var position: Position?
    /// How far `compactStep` has got with the due compaction's removals.
    private var compactionProgress: CompactionProgress?
    private let positionLock = NSLock()

    var compaction: CompactionProgress? {
        get { positionLock.withLock { compactionProgress } }
        set { positionLock.withLock { compactionProgress = newValue } }
    }

    public init(storage: RaftStorage) {
        self.storage = storage
    }

    /// Forgets what the store remembers of the state: call after replacing it (a snapshot install).
    public func reload() {
        positionLock.withLock {
            position = nil
            compactionProgress = nil
        }
    }

    private struct Position {
        var revision: Int64
        var compacted: Int64
        var alarms: AlarmSet
    }

    private func currentPosition() throws(StorageError) -> Position {
        if let known = positionLock.withLock({ position }) { return known }
        do {
            // Not remembered here: this may run beside an apply, which sets what it leaves.
            let reader = liveReader
            return Position(revision: try reader.revision(), compacted: try reader.compacted(), alarms: try reader.alarms())
        } catch {
            throw .corrupted("\(error)")
        }
    }

    /// The alarms raised, as of the last apply (any thread).
    public func alarms() throws(StorageError) -> AlarmSet {
        try currentPosition().alarms
    }

    /// Applies a run of committed commands in one batch with `appliedIndex`; returns each
    /// command's outcome in order. Throws only when the store itself fails.
    public func apply(_ commands: [MVCCCommand], appliedIndex: LogIndex) throws(StorageError) -> [MVCCOutcome] {
        let batch = storage.stateBatch()
        let start = try currentPosition()
        let applier = MVCCApplier(batch: batch, revision: start.revision, compacted: start.compacted, alarms: start.alarms)
        batch.reserveCapacity(2 * commands.count)  // a Put writes its slot and moves the version it replaces
        let lookedUp = try lookUpPutSlots(commands)
        var outcomes: [MVCCOutcome] = []
        outcomes.reserveCapacity(commands.count)
        for (command, slot) in zip(commands, lookedUp) { outcomes.append(try applier.apply(command, lookedUp: slot)) }
        applier.finish()
        do {
            try storage.writeState(batch, appliedIndex: appliedIndex)
        } catch {
            reload()  // unknown whether the write landed
            throw error
        }
        positionLock.withLock { position = Position(revision: applier.revision, compacted: applier.compacted, alarms: applier.alarms) }
        return outcomes
    }

    /// The current slot of every Put's key as the store has it before the batch, in one
    /// batched lookup, by command (nil for other commands): a Get per Put was a tenth of a
    /// replaying follower's CPU. The batch's own writes still come first (`StateBatch.get`).
    private func lookUpPutSlots(_ commands: [MVCCCommand]) throws(StorageError) -> [MVCCApplier.LookedUp?] {
        let slots: [[UInt8]?] = commands.map { command in
            if case .put(let request) = command, !request.key.isEmpty { MVCCKeys.current(request.key) } else { nil }
        }
        // Each key once: a batch of Puts to one key looked its slot up once per Put.
        var position: [ByteKey: Int] = [:]
        position.reserveCapacity(commands.count)
        var unique: [[UInt8]] = []
        let positions: [Int?] = slots.map { slot in
            guard let slot else { return nil }
            let key = ByteKey(slot)
            if let known = position[key] { return known }
            position[key] = unique.count
            unique.append(slot)
            return unique.count - 1
        }
        let stored = try storage.stateValues(unique)
        return zip(slots, positions).map { slot, at in slot.map { MVCCApplier.LookedUp(slot: $0, stored: stored[at!]) } }
    }

    /// Answers a Range from what this node has applied.
    public func range(_ request: Etcd.RangeRequest) throws(MVCCError) -> Etcd.RangeResponse {
        try liveReader.range(request)
    }

    /// The store as it is now, to read later or on another thread (see `MVCCView`). The cursor
    /// is made here, not at the first read, so the view is of this moment.
    public func view() -> MVCCView {
        let cursor = storage.stateCursor(from: MVCCKeys.revisionKey)
        return MVCCView(reader: MVCCReader { key in
            cursor.seek(key)
            return cursor
        })
    }

    /// The store's revision now.
    public func revision() throws(MVCCError) -> Int64 {
        try liveReader.revision()
    }

    /// The revision compacted through (0: none yet).
    public func compactedRevision() throws(MVCCError) -> Int64 {
        try liveReader.compacted()
    }

    var liveReader: MVCCReader { MVCCReader { [storage] in storage.stateCursor(from: $0) } }
}

extension MVCCStore {
    /// Converts a state machine written before the store kept revisions (grey.v1 keys stored as
    /// 0x01 + key) into this one: each key becomes a version at revision 2, one write as etcd
    /// would number it. Done once, at start and after installing an old snapshot; returns how
    /// many keys it converted (0 when there was nothing to do).
    @discardableResult
    public func adoptLegacyState() throws(StorageError) -> Int {
        let cursor = storage.stateCursor(from: MVCCKeys.revisionKey)
        if let pair = try cursor.current(), pair.key.elementsEqual(MVCCKeys.revisionKey) { return 0 }
        var legacy: [(key: [UInt8], value: [UInt8])] = []
        let scan = storage.stateCursor(from: [MVCCKeys.namespace])
        while let pair = try scan.current(), pair.key.first == MVCCKeys.namespace {
            if pair.key.count > 1 { legacy.append(([UInt8](pair.key.dropFirst()), [UInt8](pair.value))) }
            scan.advance()
        }
        guard !legacy.isEmpty else { return 0 }
        let batch = storage.stateBatch()
        let revision: Int64 = 2
        for (sub, entry) in legacy.enumerated() {
            batch.delete([MVCCKeys.namespace] + entry.key)
            let stored = StoredVersion(createRevision: revision, version: 1, lease: 0, value: entry.value)
            batch.put(MVCCKeys.current(entry.key), MVCCKeys.slotValue(revision, stored))
            batch.put(MVCCKeys.history(revision, Int64(sub)), entry.key)
        }
        batch.put(MVCCKeys.revisionKey, MVCCKeys.encodeRevision(revision))
        try storage.writeState(batch, appliedIndex: try storage.appliedIndex())
        reload()
        return legacy.count
    }
}

extension MVCCStore {
    /// Answers a Txn that writes nothing from what this node has applied, without the log:
    /// it runs on a batch that is thrown away.
    public func evaluate(_ request: Etcd.TxnRequest) throws(MVCCError) -> Etcd.TxnResponse {
        let outcome: MVCCOutcome
        do {
            // The reader's own view of the revision: this runs beside applies, on another thread.
            // No alarm refuses a read.
            let applier = MVCCApplier(batch: storage.stateBatch(), revision: try liveReader.revision(), compacted: try liveReader.compacted(), alarms: AlarmSet())
            outcome = try applier.apply(.txn(request))
        } catch let error as MVCCError {
            throw error
        } catch {
            throw .corrupted("\(error)")
        }
        switch outcome {
        case .txn(let response): return response
        case .refused(let error): throw error
        default: throw .corrupted("a Txn answered as something else")
        }
    }
}

extension RequestRules {
    /// Whether a Txn only reads (in both branches, nested Txns included).
    public static func isReadOnly(_ request: Etcd.TxnRequest) -> Bool {
        (request.success + request.failure).allSatisfy { op in
            switch op {
            case .range: true
            case .txn(let nested): isReadOnly(nested)
            case .put, .deleteRange: false
            }
        }
    }

    /// Whether every read of a Txn asked for serializable consistency (etcd then answers it
    /// from the local member without confirming leadership).
    public static func isSerializable(_ request: Etcd.TxnRequest) -> Bool {
        (request.success + request.failure).allSatisfy { op in
            switch op {
            case .range(let range): range.serializable
            case .txn(let nested): isSerializable(nested)
            case .put, .deleteRange: false
            }
        }
    }
}
