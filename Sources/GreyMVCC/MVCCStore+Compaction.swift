import GreyStorage

/// Removing what a compaction made unreachable, in bounded steps after the compaction applied.
///
/// Applying a Compact only records the revision (`MVCCApplier.compact`): from then on reads
/// below it are refused, and the versions it superseded can never be read again. Deleting
/// them means reading every version in the store, which on a long history takes seconds; done
/// in the apply it would stall the node's loop — heartbeats too — for as long. So the node
/// calls `compactStep` again and again between other work until it returns false; each step
/// examines `budget` versions or history keys and writes its deletions in one batch. etcd
/// does the same (its compaction deletes in batches of 1,000 between pauses).
///
/// Steps must not overlap an apply (both write the index of the same keys): the node runs both
/// on its loop. Between steps applies go on, and that is safe: they only add versions newer than
/// the compaction, and moving a key's newest version under its revision does not change which
/// of its versions is the newest at the compaction — the one a step keeps. Until the last step,
/// every answer is the same as after it: what is left to delete is what no read can reach
/// (`hashKV` and `check` skip it too). A crash or a snapshot install in between loses only the
/// progress kept in memory; the due revision is in the store, and the next step starts over.
extension MVCCStore {
    /// Where the removal for one compaction has got to (in memory only).
    struct CompactionProgress {
        enum Phase { case versions, history }
        var revision: Int64
        var phase = Phase.versions
        /// The index or history key to go on from: the first one not yet looked at.
        var resume: [UInt8] = MVCCKeys.versions
        /// What the step knows of the key `resume` may be in the middle of.
        var verdicts = CompactionVerdicts()
        /// That key's newest version at or below the compaction, when it is a tombstone: it goes
        /// last, once the versions under it are gone (`removeTombstone`).
        var tombstone: (key: [UInt8], revision: Int64)? = nil
    }

    /// Whether a compaction's removal is still to be done.
    public func compactionIsDue() throws(StorageError) -> Bool {
        do {
            return try liveReader.compactionDue() != nil
        } catch {
            throw .corrupted("\(error)")
        }
    }

    /// One step of removing what the due compaction made unreachable: about `budget` versions
    /// or history keys. Returns whether more remains.
    public func compactStep(budget: Int = 1_000) throws(StorageError) -> Bool {
        let due: Int64?
        do {
            due = try liveReader.compactionDue()
        } catch {
            throw .corrupted("\(error)")
        }
        guard let due else {
            compaction = nil
            return false
        }
        var progress = compaction.flatMap { $0.revision == due ? $0 : nil } ?? CompactionProgress(revision: due)
        let batch = storage.stateBatch()
        var examined = 0
        if progress.phase == .versions {
            let cursor = storage.stateCursor(from: progress.resume)
            var finished = true
            // A step may stop inside a key (one hot key can have millions of versions): an
            // apply between steps only adds or moves versions newer than the ones left, so
            // what the step knew of the key still holds for them.
            while let pair = try cursor.current(), MVCCKeys.isVersion(pair.key) {
                guard let entry = MVCCKeys.decodeEntry(key: pair.key, value: pair.value) else {
                    throw .corrupted("an MVCC index entry does not decode")
                }
                if entry.key != progress.verdicts.key { try removeTombstone(&progress, in: batch) }
                if examined >= budget {
                    progress.resume = [UInt8](pair.key)
                    finished = false
                    break
                }
                examined += 1
                switch progress.verdicts.verdict(entry, compactedThrough: due) {
                case .reachable: break
                case .superseded: batch.delete([UInt8](pair.key))
                case .deadTombstone: progress.tombstone = (entry.key, entry.revision)
                }
                cursor.advance()
            }
            if finished {
                try removeTombstone(&progress, in: batch)
                progress.phase = .history
                progress.resume = MVCCKeys.historyStart
            }
        }
        var done = false
        if progress.phase == .history && examined < budget {
            let history = storage.stateCursor(from: progress.resume)
            done = true
            // A record that also holds writes past the compaction stays whole, as the versions
            // its writes made do: reads below the compaction are refused, so nothing reads it
            // that far back, and the next compaction past its last write removes it.
            while let pair = try history.current(), let revision = MVCCKeys.historyRevision(pair.key), revision <= due {
                if examined >= budget {
                    progress.resume = [UInt8](pair.key)
                    done = false
                    break
                }
                batch.delete([UInt8](pair.key))
                examined += 1
                history.advance()
            }
        }
        if done { batch.delete(MVCCKeys.compactionDueKey) }
        try storage.writeState(batch)
        compaction = done ? nil : progress
        return !done
    }

    /// Removes the tombstone that was a key's newest version at the compaction, once the older
    /// versions under it are gone: removed first, it would leave them looking like the key's
    /// newest, and a deleted key would read as alive. An apply since may have written the key
    /// again and so moved the tombstone from the current slot under its revision: the slot
    /// goes only if it still holds the tombstone, the moved copy in any case.
    private func removeTombstone(_ progress: inout CompactionProgress, in batch: StateBatch) throws(StorageError) {
        guard let (key, revision) = progress.tombstone else { return }
        progress.tombstone = nil
        let slot = MVCCKeys.current(key)
        if let value = try batch.get(slot),
           let entry = slot.withUnsafeBytes({ k in value.withUnsafeBytes { v in MVCCKeys.decodeEntry(key: k, value: v) } }),
           entry.revision == revision, entry.stored.value == nil {
            batch.delete(slot)
        }
        batch.delete(MVCCKeys.version(key, revision))
    }
}

/// Which of its versions a compaction leaves a key, fed the key's index entries in index order
/// (newest first: the current slot, then older versions): every version above the compaction,
/// and the newest at or below it unless that is a tombstone. The one rule `compactStep` removes
/// by and `hashKV` hashes by — replicas mid-removal hash alike only if the two agree.
struct CompactionVerdicts {
    enum Verdict { case reachable, superseded, deadTombstone }

    /// The key of the entries fed so far.
    private(set) var key: [UInt8]? = nil
    /// Whether that key's newest version at or below the compaction has been fed.
    private var reachedCompaction = false

    mutating func verdict(_ entry: IndexEntry, compactedThrough revision: Int64) -> Verdict {
        if entry.key != key {
            key = entry.key
            reachedCompaction = false
        }
        guard entry.revision <= revision else { return .reachable }
        defer { reachedCompaction = true }
        if reachedCompaction { return .superseded }
        return entry.stored.value == nil ? .deadTombstone : .reachable
    }
}
