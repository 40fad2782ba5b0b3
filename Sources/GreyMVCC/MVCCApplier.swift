import GreyStorage
import GreyWire

/// Applies commands to one batch: each command sees the ones before it, a write command
/// takes the next revision (a command that writes nothing takes none), and a command that
/// fails leaves no trace. The batch is written with the applied index by `MVCCStore`.
final class MVCCApplier {
    private let batch: StateBatch
    private(set) var revision: Int64
    private(set) var compacted: Int64
    private(set) var alarms: AlarmSet
    /// Writes made so far by the command being applied (the `sub` of its revision).
    private var writes: Int64 = 0

    /// The revision the batch started at; the revision key is written once, by `finish(into:)`.
    private let startRevision: Int64

    /// Starts on `batch` with the store's revision, compaction and alarms as they are.
    init(batch: StateBatch, revision: Int64, compacted: Int64, alarms: AlarmSet) {
        self.batch = batch
        self.revision = revision
        self.compacted = compacted
        self.alarms = alarms
        startRevision = revision
    }

    /// The history of the batch, written by `finish()` as one record (`HistoryRecord`): nothing
    /// in an apply reads it back, so it is an unread write, kept out of the batch's map.
    private var history: [(revision: Int64, key: [UInt8])] = []

    /// Records the history and the revision the commands brought the store to (once per
    /// batch, not per command) in the batch's writes.
    func finish() {
        if let last = history.last {
            batch.putUnread(MVCCKeys.historyRecord(through: last.revision), HistoryRecord.encode(history))
        }
        history = []
        if revision != startRevision { batch.putUnread(MVCCKeys.revisionKey, MVCCKeys.encodeRevision(revision)) }
    }

    private var reader: MVCCReader { MVCCReader { [batch] in batch.cursor(from: $0) } }

    /// A Put's current slot and what the store held in it when the batch began, read before
    /// the batch with every other Put's (`MVCCStore.apply`).
    struct LookedUp {
        var slot: [UInt8]
        var stored: [UInt8]?
    }

    /// Applies one command; its writes land in the batch, or none if it is refused. `lookedUp`
    /// is the slot of a Put's key, read ahead.
    func apply(_ command: MVCCCommand, lookedUp: LookedUp? = nil) throws(StorageError) -> MVCCOutcome {
        try batch.setSavePoint()
        let historyMark = history.count
        writes = 0
        let next = revision + 1
        let outcome: MVCCOutcome
        do throws(MVCCError) {
            if alarms.noSpace && command.isCappedByNoSpace { throw .noSpace }
            switch command {
            case .put(let request): outcome = .put(try put(request, at: next, lookedUp: lookedUp))
            case .deleteRange(let request): outcome = .deleteRange(try deleteRange(request, at: next))
            case .txn(let request): outcome = .txn(try txn(request, at: next))
            case .compact(let request): outcome = .compact(try compact(request))
            case .alarm(let request): outcome = .alarm(alarm(request))
            }
        } catch {
            if case .corrupted = error { throw StorageError.corrupted("\(error)") }
            try batch.rollBack()
            history.removeSubrange(historyMark...)
            return .refused(error)
        }
        if writes > 0 {
            #if GREY_BROKEN_TXN_SPLIT
            revision = next + writes - 1
            #else
            revision = next
            #endif
        }
        return withRevision(outcome, revision)
    }

    // MARK: - Writes

    private func put(_ request: Etcd.PutRequest, at next: Int64, lookedUp: LookedUp? = nil) throws(MVCCError) -> Etcd.PutResponse {
        guard !request.key.isEmpty else { throw .emptyKey }
        if request.ignoreValue && !request.value.isEmpty { throw .valueProvided }
        if request.ignoreLease && request.lease != 0 { throw .leaseProvided }
        let newest = try latest(request.key, lookedUp: lookedUp)
        let previous = newest?.keyValue
        if (request.ignoreValue || request.ignoreLease) && previous == nil { throw .keyNotFound }
        let lease = request.ignoreLease ? previous!.lease : request.lease
        // Leases arrive with the Lease service; until then no lease exists to attach to.
        if lease != 0 { throw .leaseNotFound }
        let stored = StoredVersion(
            createRevision: previous?.createRevision ?? next, version: (previous?.version ?? 0) + 1, lease: lease,
            value: request.ignoreValue ? previous!.value : request.value)
        write(request.key, stored, at: next, replacing: newest)
        return Etcd.PutResponse(prevKV: request.prevKV ? previous : nil)
    }

    private func deleteRange(_ request: Etcd.DeleteRangeRequest, at next: Int64) throws(MVCCError) -> Etcd.DeleteRangeResponse {
        guard !request.key.isEmpty else { throw .emptyKey }
        let doomed = try live(in: KeyRange(key: request.key, rangeEnd: request.rangeEnd), at: next)
        for kv in doomed {
            let newest = IndexEntry(
                key: kv.key, revision: kv.modRevision,
                stored: StoredVersion(createRevision: kv.createRevision, version: kv.version, lease: kv.lease, value: kv.value),
                isCurrent: true)
            write(kv.key, .tombstone, at: next, replacing: newest)
        }
        return Etcd.DeleteRangeResponse(deleted: Int64(doomed.count), prevKVs: request.prevKV ? doomed : [])
    }

    /// Every key of `range` that exists as this batch has it, newest versions, in key order:
    /// one point lookup for a single key, a scan otherwise.
    private func live(in range: KeyRange, at next: Int64) throws(MVCCError) -> [Etcd.KeyValue] {
        if case .single(let key) = range { return try latest(key)?.keyValue.map { [$0] } ?? [] }
        var found: [Etcd.KeyValue] = []
        try reader.forEach(in: range, at: next) { kv throws(MVCCError) in
            found.append(kv)
            return true
        }
        return found
    }

    /// The newest version of `key` as this batch has it: a point lookup (no iterator), or
    /// none when its slot was read ahead.
    private func latest(_ key: [UInt8], lookedUp: LookedUp? = nil) throws(MVCCError) -> IndexEntry? {
        let slot = lookedUp?.slot ?? MVCCKeys.current(key)
        let value: [UInt8]?
        do {
            value = try lookedUp.map { batch.get(slot, stored: $0.stored) } ?? batch.get(slot)
        } catch {
            throw .corrupted("\(error)")
        }
        guard let value else { return nil }
        let entry = slot.withUnsafeBytes { k in value.withUnsafeBytes { v in MVCCKeys.decodeEntry(key: k, value: v) } }
        guard let entry else { throw .corrupted("the current version of a key does not decode") }
        return entry
    }

    /// Puts `stored` in `key`'s current slot, moving the version it replaces under its revision.
    private func write(_ key: [UInt8], _ stored: StoredVersion, at next: Int64, replacing newest: IndexEntry?) {
        #if GREY_BROKEN_TXN_SPLIT
        // The deliberately broken build for the chaos test's bank (`make chaos-broken`): each
        // write of a command takes a revision of its own, so a Range at a revision between
        // two writes of one Txn sees half of it (money gone from one account, not yet arrived).
        let at = next + writes
        #else
        let at = next
        #endif
        if let newest { batch.put(MVCCKeys.version(key, newest.revision), newest.stored.encoded) }
        batch.put(MVCCKeys.current(key), MVCCKeys.slotValue(at, stored))
        history.append((at, key))
        writes += 1
    }

    // MARK: - Transactions

    private func txn(_ request: Etcd.TxnRequest, at next: Int64) throws(MVCCError) -> Etcd.TxnResponse {
        var succeeded = true
        for compare in request.compare where try !holds(compare, at: next) {
            succeeded = false
            break
        }
        var responses: [Etcd.ResponseOp] = []
        for op in succeeded ? request.success : request.failure {
            switch op {
            case .range(let range):
                // Reads in a Txn see its own earlier writes (at `next`, not yet the store's revision).
                responses.append(.range(try reader.range(range, currentRevision: writes > 0 ? next : revision)))
            case .put(let put): responses.append(.put(try self.put(put, at: next)))
            case .deleteRange(let delete): responses.append(.deleteRange(try deleteRange(delete, at: next)))
            case .txn(let nested): responses.append(.txn(try txn(nested, at: next)))
            }
        }
        return Etcd.TxnResponse(succeeded: succeeded, responses: responses)
    }

    /// Whether a compare holds: for every key of its range (an absent key compares as zeros,
    /// and a value compare on an absent key fails, as etcd's).
    private func holds(_ compare: Etcd.Compare, at next: Int64) throws(MVCCError) -> Bool {
        var matched = try live(in: KeyRange(key: compare.key, rangeEnd: compare.rangeEnd), at: next)
        if matched.isEmpty {
            if case .value = compare.target { return false }
            matched = [Etcd.KeyValue(key: compare.key)]
        }
        return matched.allSatisfy { kv in
            let order: Int
            switch compare.target {
            case .version(let number): order = kv.version < number ? -1 : kv.version > number ? 1 : 0
            case .createRevision(let number): order = kv.createRevision < number ? -1 : kv.createRevision > number ? 1 : 0
            case .modRevision(let number): order = kv.modRevision < number ? -1 : kv.modRevision > number ? 1 : 0
            case .lease(let number): order = kv.lease < number ? -1 : kv.lease > number ? 1 : 0
            case .value(let bytes): order = kv.value == bytes ? 0 : kv.value.lexicographicallyPrecedes(bytes) ? -1 : 1
            }
            switch compare.result {
            case .equal: return order == 0
            case .notEqual: return order != 0
            case .less: return order < 0
            case .greater: return order > 0
            }
        }
    }

    // MARK: - Compaction

    /// Compacts through `revision` logically: reads below it are refused from now on, and the
    /// versions it makes unreachable are recorded as due for removal. Removing them is
    /// `MVCCStore.compactStep`'s work, in bounded steps after the apply — a store with a long
    /// history would otherwise hold up this apply, and everything behind it on the node's
    /// loop, heartbeats included, for as long as the scan takes.
    private func compact(_ request: Etcd.CompactionRequest) throws(MVCCError) -> Etcd.CompactionResponse {
        guard request.revision > compacted else { throw .compacted }
        guard request.revision <= revision else { throw .futureRevision }
        compacted = request.revision
        batch.put(MVCCKeys.compactedKey, MVCCKeys.encodeRevision(compacted))
        batch.put(MVCCKeys.compactionDueKey, MVCCKeys.encodeRevision(compacted))
        return Etcd.CompactionResponse()
    }

    // MARK: - Alarms

    /// Raises or disarms an alarm as etcd's applier does: raising NONE does nothing, raising
    /// one already raised answers it again, disarming one not raised answers nothing.
    private func alarm(_ request: Etcd.AlarmRequest) -> Etcd.AlarmResponse {
        let member = Etcd.AlarmMember(memberID: request.memberID, alarm: request.alarm)
        var changed: Etcd.AlarmMember?
        switch request.action {
        case .get: return Etcd.AlarmResponse(alarms: alarms.raised(request.alarm))
        case .activate: changed = request.alarm == .none ? nil : alarms.activate(member)
        case .deactivate: changed = alarms.deactivate(member)
        }
        if alarms.members.isEmpty {
            batch.delete(MVCCKeys.alarmsKey)
        } else {
            batch.put(MVCCKeys.alarmsKey, alarms.encoded)
        }
        return Etcd.AlarmResponse(alarms: changed.map { [$0] } ?? [])
    }

    private func readCurrent(_ cursor: RocksDBCursor) throws(MVCCError) -> (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)? {
        do { return try cursor.current() } catch { throw .corrupted("\(error)") }
    }

    /// The outcome with its header's revision set (the store's revision after the command).
    private func withRevision(_ outcome: MVCCOutcome, _ revision: Int64) -> MVCCOutcome {
        let header = Etcd.ResponseHeader(revision: revision)
        switch outcome {
        case .put(var response): response.header = header; return .put(response)
        case .deleteRange(var response): response.header = header; return .deleteRange(response)
        case .txn(let response): return .txn(response.stamped(header))
        case .compact(var response): response.header = header; return .compact(response)
        case .alarm(var response): response.header = header; return .alarm(response)
        case .refused: return outcome
        }
    }
}
