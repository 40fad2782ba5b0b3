import GreyStorage
import GreyWire

/// Hashes that let replicas be compared (etcd's Hash and HashKV).
extension MVCCStore {
    /// CRC-32C of every version at or below `revision` (0: the store's revision), keys and
    /// records, in key order: equal on every replica that has applied that revision, since
    /// writes and compactions reach each the same way through the log. Records are hashed in
    /// the fixed-width form of earlier builds, whichever form holds them, so a replica written
    /// by an older build hashes like one written by this. Returns the hash, the revision
    /// hashed and the compaction it saw.
    public func hashKV(revision: Int64) throws(MVCCError) -> (hash: UInt32, revision: Int64, compacted: Int64) {
        let reader = MVCCReader { [storage] in storage.stateCursor(from: $0) }
        let current = try reader.revision()
        let at = revision > 0 ? revision : current
        guard at <= current else { throw .futureRevision }
        let compacted = try reader.compacted()
        guard at >= compacted else { throw .compacted }
        var crc = CRC32C()
        let cursor = storage.stateCursor(from: MVCCKeys.versions)
        // What a compaction made unreachable is skipped, whether or not it has been removed yet
        // (`compactStep`): replicas remove it at their own pace, and must hash alike.
        var verdicts = CompactionVerdicts()
        do {
            while let pair = try cursor.current(), MVCCKeys.isVersion(pair.key) {
                guard let entry = MVCCKeys.decodeEntry(key: pair.key, value: pair.value) else { throw MVCCError.corrupted("an index entry that does not decode") }
                let verdict = verdicts.verdict(entry, compactedThrough: compacted)
                if entry.revision <= at && verdict == .reachable {
                    crc.update(pair.key)
                    crc.update(MVCCKeys.legacyValue(of: entry))
                }
                cursor.advance()
            }
        } catch let error as MVCCError {
            throw error
        } catch {
            throw .corrupted("\(error)")
        }
        return (crc.value, at, compacted)
    }

    /// CRC-32C of the whole store as it is now: every key of the state machine, history and
    /// revision included (etcd's Hash, of the whole backend). Like etcd's, it can differ
    /// between replicas while one is still removing what a compaction made unreachable.
    ///
    /// Versions are hashed in the fixed-width form of earlier builds (as in `hashKV`). The
    /// history is hashed write by write, above the compaction, each as the key and value
    /// of its own (the older one-key-per-write form): replicas apply the same writes in
    /// batches of their own, so their records part at different revisions, and a record that
    /// goes past a compaction keeps the writes below it until a later one.
    public func hashAll() throws(StorageError) -> UInt32 {
        let compacted: Int64
        do {
            compacted = try liveReader.compacted()
        } catch {
            throw .corrupted("\(error)")
        }
        var crc = CRC32C()
        let cursor = storage.stateCursor(from: [MVCCKeys.namespace])
        while let pair = try cursor.current(), pair.key.first == MVCCKeys.namespace {
            if MVCCKeys.isHistory(pair.key) {
                guard let writes = MVCCKeys.decodeHistory(key: pair.key, value: pair.value) else {
                    throw .corrupted("an MVCC history record does not decode")
                }
                for write in writes where write.revision > compacted {
                    crc.update(MVCCKeys.history(write.revision, write.sub))
                    crc.update(write.key)
                }
            } else if MVCCKeys.isVersion(pair.key) {
                guard let entry = MVCCKeys.decodeEntry(key: pair.key, value: pair.value) else {
                    throw .corrupted("an MVCC index entry does not decode")
                }
                crc.update(pair.key)
                crc.update(MVCCKeys.legacyValue(of: entry))
            } else {
                crc.update(pair.key)
                crc.update(pair.value)
            }
            cursor.advance()
        }
        return crc.value
    }
}
