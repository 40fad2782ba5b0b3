import GreyStorage

/// What `greyctl fsck` learns from reading the whole store.
public struct MVCCCheckReport: Sendable {
    public var keys = 0
    public var versions = 0
    public var revision: Int64 = 0
    public var compacted: Int64 = 0
    /// A compaction whose unreachable versions are still being removed, if one is.
    public var compactionDue: Int64? = nil
    /// The alarms raised (NOSPACE stays raised through a backup and a restore, as in etcd).
    public var alarms = AlarmSet()
}

extension MVCCStore {
    /// Reads every key of the store (RocksDB verifies each block's checksum on the way) and
    /// checks what the layout promises: every index key and record decodes, no version is
    /// newer than the store's revision or older than its compaction without being the newest
    /// of its key, the history goes forward, and every write in it above the compaction names
    /// a key with a version at that revision.
    public func check() throws(StorageError) -> MVCCCheckReport {
        let reader = MVCCReader { [storage] in storage.stateCursor(from: $0) }
        var report = MVCCCheckReport()
        do {
            report.revision = try reader.revision()
            report.compacted = try reader.compacted()
            report.alarms = try reader.alarms()
        } catch {
            throw .corrupted("\(error)")
        }
        guard report.compacted <= report.revision else {
            throw .corrupted("the store is compacted through revision \(report.compacted), past its revision \(report.revision)")
        }
        // While a compaction's removals are under way, what it made unreachable may still be
        // there (`compactStep`): versions below it, and history up to it.
        let due: Int64?
        do {
            due = try reader.compactionDue()
        } catch {
            throw .corrupted("\(error)")
        }
        if let due, due > report.compacted {
            throw .corrupted("a compaction through revision \(due) is due, past the store's compaction at \(report.compacted)")
        }
        report.compactionDue = due
        let cursor = storage.stateCursor(from: MVCCKeys.versions)
        var lastKey: [UInt8]? = nil
        var belowCompaction = false
        while let pair = try cursor.current(), MVCCKeys.isVersion(pair.key) {
            guard let entry = MVCCKeys.decodeEntry(key: pair.key, value: pair.value) else {
                throw .corrupted("an MVCC index entry does not decode\(MVCCKeys.decodeIndexKey(pair.key).map { " (\(printable($0.key)))" } ?? "")")
            }
            let (key, revision) = (entry.key, entry.revision)
            if key == lastKey && entry.isCurrent { throw .corrupted("\(printable(key)) has its newest version after an older one") }
            if key != lastKey && !entry.isCurrent { throw .corrupted("\(printable(key)) has older versions but no newest one") }
            guard revision >= 2, revision <= report.revision else {
                throw .corrupted("\(printable(key)) has a version at revision \(revision), outside 2...\(report.revision)")
            }
            if key != lastKey {
                lastKey = key
                report.keys += 1
                belowCompaction = false
            }
            if revision <= report.compacted && due == nil {
                guard !belowCompaction else { throw .corrupted("\(printable(key)) keeps two versions at or below the compaction at \(report.compacted)") }
                belowCompaction = true
            }
            report.versions += 1
            cursor.advance()
        }
        // One reader for every history lookup: it moves its one iterator instead of making one per entry.
        let versions = MVCCReader { [storage] in storage.stateCursor(from: $0) }
        let history = storage.stateCursor(from: MVCCKeys.historyStart)
        var lastWrite: (revision: Int64, sub: Int64)? = nil
        while let pair = try history.current(), MVCCKeys.isHistory(pair.key) {
            guard let writes = MVCCKeys.decodeHistory(key: pair.key, value: pair.value) else { throw .corrupted("an MVCC history record does not decode") }
            for write in writes {
                if let last = lastWrite, (write.revision, write.sub) <= (last.revision, last.sub) {
                    throw .corrupted("the history goes back from revision \(last.revision) to \(write.revision)")
                }
                lastWrite = (write.revision, write.sub)
                // Writes at or below the compaction name versions it may have removed (a record
                // that goes past it stays whole until a later compaction).
                if write.revision <= report.compacted { continue }
                guard write.revision <= report.revision else {
                    throw .corrupted("the history has a write at revision \(write.revision), past the store's \(report.revision)")
                }
                let found: IndexEntry?
                do {
                    found = try versions.entry(write.key, at: write.revision)
                } catch {
                    throw .corrupted("\(error)")
                }
                guard found?.revision == write.revision else {
                    throw .corrupted("the history at revision \(write.revision) names \(printable(write.key)), which has no version there")
                }
            }
            history.advance()
        }
        return report
    }

    private func printable(_ key: [UInt8]) -> String {
        let text = String(decoding: key, as: UTF8.self)
        return text.utf8.elementsEqual(key) && !text.contains(where: \.isNewline) ? "key \"\(text)\"" : "key 0x" + key.map { String(format: "%02x", $0) }.joined()
    }
}
