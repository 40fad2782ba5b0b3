import Foundation
import GreyRaft
import GreyStorage
import GreyWire
import Testing

@testable import GreyMVCC

/// The MVCC store on a real RocksDB in a temporary directory, checked against etcd 3.4's
/// behaviour (revisions start at 1, the first write is revision 2, and so on).
@Suite("MVCC store")
struct MVCCStoreTests {
    /// A store in a fresh directory, and a counter of applied indexes.
    final class Harness {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("grey-mvcc-\(UUID().uuidString)").path
        let storage: RaftStorage
        let store: MVCCStore
        var index: UInt64 = 0

        init() throws {
            storage = try RaftStorage(directory: directory, nodeID: 1)
            store = MVCCStore(storage: storage)
        }

        deinit { try? FileManager.default.removeItem(atPath: directory) }

        /// Applies commands as one batch (one run of committed entries).
        @discardableResult
        func apply(_ commands: [MVCCCommand]) throws -> [MVCCOutcome] {
            index += UInt64(commands.count)
            return try store.apply(commands, appliedIndex: LogIndex(index))
        }

        /// Every index entry on disk, reachable or not, as "key@revision" in index order.
        func versionsOnDisk() throws -> [String] {
            var found: [String] = []
            let cursor = storage.stateCursor(from: MVCCKeys.versions)
            while let pair = try cursor.current(), MVCCKeys.isVersion(pair.key), let entry = MVCCKeys.decodeEntry(key: pair.key, value: pair.value) {
                found.append("\(String(decoding: entry.key, as: UTF8.self))@\(entry.revision)")
                cursor.advance()
            }
            return found
        }

        /// The revision of every write in the history on disk.
        func historyOnDisk() throws -> [Int64] {
            try historyRecords().flatMap { $0.map(\.revision) }
        }

        /// The writes of each history key on disk, in key order.
        func historyRecords() throws -> [[HistoryRecord.Write]] {
            var found: [[HistoryRecord.Write]] = []
            let cursor = storage.stateCursor(from: MVCCKeys.historyStart)
            while let pair = try cursor.current(), MVCCKeys.isHistory(pair.key) {
                guard let writes = MVCCKeys.decodeHistory(key: pair.key, value: pair.value) else { throw Failure("a history key does not decode") }
                found.append(writes)
                cursor.advance()
            }
            return found
        }

        @discardableResult
        func put(_ key: String, _ value: String, prevKV: Bool = false) throws -> Etcd.PutResponse {
            guard case .put(let response) = try apply([.put(Etcd.PutRequest(key: Array(key.utf8), value: Array(value.utf8), prevKV: prevKV))])[0]
            else { throw Failure("put \(key) was refused") }
            return response
        }

        func delete(_ key: String, rangeEnd: String = "", prevKV: Bool = false) throws -> Etcd.DeleteRangeResponse {
            guard case .deleteRange(let response) = try apply([.deleteRange(Etcd.DeleteRangeRequest(key: Array(key.utf8), rangeEnd: Array(rangeEnd.utf8), prevKV: prevKV))])[0]
            else { throw Failure("delete \(key) was refused") }
            return response
        }

        func txn(_ request: Etcd.TxnRequest) throws -> MVCCOutcome {
            try apply([.txn(request)])[0]
        }

        func get(_ key: String, revision: Int64 = 0) throws -> Etcd.KeyValue? {
            try store.range(Etcd.RangeRequest(key: Array(key.utf8), revision: revision)).kvs.first
        }

        func keys(_ request: Etcd.RangeRequest) throws -> [String] {
            try store.range(request).kvs.map { String(decoding: $0.key, as: UTF8.self) }
        }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test("revisions as etcd numbers them: 1 when empty, +1 per write; create, mod and version per key")
    func revisions() throws {
        let h = try Harness()
        #expect(try h.store.revision() == 1)
        #expect(try h.put("a", "1").header?.revision == 2)
        #expect(try h.put("a", "2").header?.revision == 3)
        #expect(try h.put("b", "x").header?.revision == 4)
        let a = try #require(try h.get("a"))
        #expect((a.createRevision, a.modRevision, a.version, a.value) == (2, 3, 2, Self.bytes("2")))
        #expect(try h.get("a", revision: 2)?.value == Self.bytes("1"), "an older revision reads the older value")
        #expect(try h.get("b", revision: 3) == nil, "b did not exist at revision 3")
        let deleted = try h.delete("a", prevKV: true)
        #expect(deleted.deleted == 1 && deleted.header?.revision == 5 && deleted.prevKVs.first?.value == Self.bytes("2"))
        #expect(try h.get("a") == nil)
        #expect(try h.get("a", revision: 4)?.value == Self.bytes("2"), "history survives a delete")
        let again = try h.put("a", "3")
        #expect(again.header?.revision == 6)
        let recreated = try #require(try h.get("a"))
        #expect((recreated.createRevision, recreated.version) == (6, 1), "a deleted key starts over")
        #expect(try h.delete("nothing").deleted == 0)
        #expect(try h.store.revision() == 6, "a delete that deletes nothing takes no revision")
    }

    @Test("put with prev_kv, ignore_value and ignore_lease; refusals write nothing")
    func putOptions() throws {
        let h = try Harness()
        #expect(try h.put("k", "v1", prevKV: true).prevKV == nil)
        #expect(try h.put("k", "v2", prevKV: true).prevKV?.value == Self.bytes("v1"))
        let kept = try h.apply([.put(Etcd.PutRequest(key: Self.bytes("k"), ignoreValue: true))])[0]
        guard case .put = kept else { Issue.record("ignore_value on an existing key: \(kept)"); return }
        #expect(try h.get("k")?.value == Self.bytes("v2") && h.get("k")?.version == 3)
        let missing = try h.apply([.put(Etcd.PutRequest(key: Self.bytes("absent"), ignoreValue: true))])[0]
        guard case .refused(.keyNotFound) = missing else { Issue.record("expected key not found, got \(missing)"); return }
        let lease = try h.apply([.put(Etcd.PutRequest(key: Self.bytes("k"), value: Self.bytes("x"), lease: 42))])[0]
        guard case .refused(.leaseNotFound) = lease else { Issue.record("expected lease not found, got \(lease)"); return }
        #expect(try h.store.revision() == 4, "refused puts take no revision")
        #expect(MVCCError.leaseNotFound.status.message == "etcdserver: requested lease not found")
    }

    @Test("ranges: single key, [key, end), prefix, from key on (\\0), keys with 0x00 and 0xFF bytes")
    func ranges() throws {
        let h = try Harness()
        let keys: [[UInt8]] = [[0x61], [0x61, 0x00], [0x61, 0x00, 0x01], [0x61, 0x01], [0x61, 0xFF], [0x62], [0x00], [0xFF, 0xFF]]
        try h.apply(keys.map { .put(Etcd.PutRequest(key: $0, value: $0)) })
        func range(_ key: [UInt8], _ end: [UInt8]) throws -> [[UInt8]] {
            try h.store.range(Etcd.RangeRequest(key: key, rangeEnd: end)).kvs.map(\.key)
        }
        #expect(try range([0x61], []) == [[0x61]])
        #expect(try range([0x61], [0x62]) == [[0x61], [0x61, 0x00], [0x61, 0x00, 0x01], [0x61, 0x01], [0x61, 0xFF]])
        #expect(try range([0x61, 0x00], [0x61, 0x01]) == [[0x61, 0x00], [0x61, 0x00, 0x01]])
        #expect(try range([0x00], [0x00]) == keys.sorted { $0.lexicographicallyPrecedes($1) }, "\\0 to \\0 is every key")
        #expect(try range([0x62], [0x00]) == [[0x62], [0xFF, 0xFF]])
        #expect(try range([0x62], [0x61]).isEmpty, "an end before the start is empty")
    }

    @Test("limit, more and count; count_only; keys_only; sort by every target; revision filters")
    func rangeOptions() throws {
        let h = try Harness()
        for (key, value) in [("k3", "c"), ("k1", "b"), ("k2", "a"), ("k1", "z")] { try h.put(key, value) }
        // k1: create 3 mod 5 version 2 "z"; k2: create 4 "a"; k3: create 2 "c"
        let all = Etcd.RangeRequest(key: Self.bytes("k"), rangeEnd: Self.bytes("l"))
        var limited = all
        limited.limit = 2
        let page = try h.store.range(limited)
        #expect(page.kvs.map(\.key) == [Self.bytes("k1"), Self.bytes("k2")] && page.more && page.count == 3)
        limited.limit = 3
        #expect(try h.store.range(limited).more == false)
        var counted = all
        counted.countOnly = true
        let onlyCount = try h.store.range(counted)
        #expect(onlyCount.kvs.isEmpty && onlyCount.count == 3)
        var keysOnly = all
        keysOnly.keysOnly = true
        #expect(try h.store.range(keysOnly).kvs.allSatisfy { $0.value.isEmpty && $0.version > 0 })
        var sorted = all
        sorted.sortTarget = .value
        #expect(try h.keys(sorted) == ["k2", "k3", "k1"], "a non-key target alone sorts ascending")
        sorted.sortOrder = .descend
        sorted.sortTarget = .create
        #expect(try h.keys(sorted) == ["k2", "k1", "k3"])
        sorted.sortTarget = .mod
        sorted.limit = 1
        let newest = try h.store.range(sorted)
        #expect(newest.kvs.map(\.key) == [Self.bytes("k1")] && newest.more && newest.count == 3, "sorting happens before the limit")
        sorted = all
        sorted.sortOrder = .descend
        #expect(try h.keys(sorted) == ["k3", "k2", "k1"])
        sorted.sortTarget = .version
        #expect(try h.keys(sorted).first == "k1")
        var filtered = all
        filtered.minCreateRevision = 3
        #expect(try h.keys(filtered) == ["k1", "k2"])
        filtered.maxModRevision = 4
        let both = try h.store.range(filtered)
        #expect(both.kvs.map(\.key) == [Self.bytes("k2")] && both.count == 3, "count is before the filters, as etcd's")
    }

    @Test("compaction: old versions go, reads below it are refused, the compacted revision still reads, tombstones go")
    func compaction() throws {
        let h = try Harness()
        try h.put("a", "1")  // 2
        try h.put("a", "2")  // 3
        try h.put("b", "1")  // 4
        _ = try h.delete("b")  // 5
        try h.put("a", "3")  // 6
        guard case .compact = try h.apply([.compact(Etcd.CompactionRequest(revision: 5))])[0] else { Issue.record("compact refused"); return }
        #expect(try h.store.compactedRevision() == 5)
        #expect(throws: MVCCError.compacted) { try h.store.range(Etcd.RangeRequest(key: Self.bytes("a"), revision: 4)) }
        #expect(try h.get("a", revision: 5)?.value == Self.bytes("2"), "the compacted revision itself still reads")
        #expect(try h.get("a")?.value == Self.bytes("3"))
        #expect(throws: MVCCError.futureRevision) { try h.store.range(Etcd.RangeRequest(key: Self.bytes("a"), revision: 7)) }
        // The apply only recorded the compaction: every version is still on disk, none reachable.
        #expect(try h.versionsOnDisk() == ["a@6", "a@3", "a@2", "b@5", "b@4"])
        #expect(try h.store.compactionIsDue())
        let hashBefore = try h.store.hashKV(revision: 0)
        while try h.store.compactStep() {}
        // What is left on disk: a@3 (newest at 5), a@6; b's versions all gone (a tombstone was newest).
        #expect(try h.versionsOnDisk() == ["a@6", "a@3"])
        #expect(try !h.store.compactionIsDue())
        #expect(try h.store.hashKV(revision: 0) == hashBefore, "the hash skips the unreachable versions, removed or not")
        #expect(try h.historyOnDisk() == [6])
        guard case .refused(.compacted) = try h.apply([.compact(Etcd.CompactionRequest(revision: 5))])[0] else { Issue.record("compacting again must be refused"); return }
        guard case .refused(.futureRevision) = try h.apply([.compact(Etcd.CompactionRequest(revision: 9))])[0] else { Issue.record("a future compaction must be refused"); return }
        #expect(MVCCError.compacted.status.message == "etcdserver: mvcc: required revision has been compacted")
        #expect(MVCCError.compacted.status.code == .outOfRange)
    }

    @Test("txn: compares on value, version, create and mod with every operator; both branches; one revision")
    func transactions() throws {
        let h = try Harness()
        try h.put("x", "1")  // 2
        func compare(_ result: Etcd.Compare.Result, _ target: Etcd.Compare.Target, _ key: String = "x") -> Etcd.Compare {
            Etcd.Compare(result: result, target: target, key: Self.bytes(key))
        }
        let holding: [Etcd.Compare] = [
            compare(.equal, .value(Self.bytes("1"))), compare(.notEqual, .value(Self.bytes("2"))),
            compare(.greater, .value(Self.bytes("0"))), compare(.less, .value(Self.bytes("2"))),
            compare(.equal, .version(1)), compare(.equal, .createRevision(2)), compare(.equal, .modRevision(2)),
            compare(.less, .modRevision(3)), compare(.greater, .createRevision(1)), compare(.equal, .version(0), "absent"),
            compare(.equal, .lease(0)),
        ]
        for condition in holding {
            let request = Etcd.TxnRequest(compare: [condition], success: [.put(Etcd.PutRequest(key: Self.bytes("ok"), value: Self.bytes("1")))])
            guard case .txn(let response) = try h.txn(request) else { Issue.record("refused"); continue }
            #expect(response.succeeded, "\(condition) should hold")
        }
        let failing = Etcd.TxnRequest(
            compare: [compare(.equal, .value(Self.bytes("1"))), compare(.equal, .value(Self.bytes("x")), "absent")],
            success: [.put(Etcd.PutRequest(key: Self.bytes("then"), value: Self.bytes("1")))],
            failure: [.put(Etcd.PutRequest(key: Self.bytes("else"), value: Self.bytes("1"))),
                      .put(Etcd.PutRequest(key: Self.bytes("else2"), value: Self.bytes("1"))),
                      .range(Etcd.RangeRequest(key: Self.bytes("else")))])
        let before = try h.store.revision()
        guard case .txn(let response) = try h.txn(failing) else { Issue.record("refused"); return }
        #expect(!response.succeeded, "a value compare on an absent key fails")
        #expect(try h.get("then") == nil && h.get("else") != nil)
        #expect(try h.get("else")?.modRevision == before + 1 && h.get("else2")?.modRevision == before + 1, "one revision for the whole txn")
        guard case .range(let read)? = response.responses.last else { Issue.record("no range response"); return }
        #expect(read.kvs.first?.value == Self.bytes("1"), "a range in the txn sees the txn's own earlier put")
        #expect(response.header?.revision == before + 1 && read.header?.revision == before + 1)
        let readOnly = Etcd.TxnRequest(success: [.range(Etcd.RangeRequest(key: Self.bytes("x")))])
        guard case .txn(let quiet) = try h.txn(readOnly) else { Issue.record("refused"); return }
        #expect(quiet.succeeded && quiet.header?.revision == before + 1, "a txn that writes nothing takes no revision")
    }

    @Test("a txn refused half-way (put with ignore_value on an absent key) leaves nothing behind")
    func txnRollsBack() throws {
        let h = try Harness()
        let request = Etcd.TxnRequest(success: [
            .put(Etcd.PutRequest(key: Self.bytes("first"), value: Self.bytes("1"))),
            .put(Etcd.PutRequest(key: Self.bytes("second"), ignoreValue: true)),
        ])
        guard case .refused(.keyNotFound) = try h.txn(request) else { Issue.record("expected key not found"); return }
        #expect(try h.get("first") == nil && h.store.revision() == 1)
        // The next command in the same batch is not disturbed.
        let outcomes = try h.apply([.txn(request), .put(Etcd.PutRequest(key: Self.bytes("after"), value: Self.bytes("1")))])
        guard case .refused = outcomes[0], case .put(let put) = outcomes[1] else { Issue.record("\(outcomes)"); return }
        #expect(try put.header?.revision == 2 && h.get("first") == nil)
        // Two writes before the refusal: neither leaves a history entry behind.
        let longer = Etcd.TxnRequest(success: [
            .put(Etcd.PutRequest(key: Self.bytes("x"), value: Self.bytes("1"))),
            .put(Etcd.PutRequest(key: Self.bytes("y"), value: Self.bytes("1"))),
            .put(Etcd.PutRequest(key: Self.bytes("second"), ignoreValue: true)),
        ])
        let more = try h.apply([.txn(longer), .put(Etcd.PutRequest(key: Self.bytes("after2"), value: Self.bytes("1")))])
        guard case .refused = more[0] else { Issue.record("\(more)"); return }
        #expect(try h.historyOnDisk() == [2, 3], "one history entry per write that stayed")
        #expect(try h.store.check().revision == 3)
    }

    @Test("commands in one batch see each other: the second put of a key in a batch is version 2")
    func batchSeesItself() throws {
        let h = try Harness()
        let outcomes = try h.apply([
            .put(Etcd.PutRequest(key: Self.bytes("k"), value: Self.bytes("1"))),
            .put(Etcd.PutRequest(key: Self.bytes("k"), value: Self.bytes("2"), prevKV: true)),
            .deleteRange(Etcd.DeleteRangeRequest(key: Self.bytes("k"), prevKV: true)),
        ])
        guard case .put(let second) = outcomes[1], case .deleteRange(let delete) = outcomes[2] else { Issue.record("\(outcomes)"); return }
        #expect(second.prevKV?.value == Self.bytes("1") && second.header?.revision == 3)
        #expect(delete.prevKVs.first?.version == 2 && delete.header?.revision == 4)
        #expect(try h.storage.appliedIndex() == 3, "the applied index is written with the batch")
    }

    @Test("the store survives a reopen: revisions, history and compaction are on disk")
    func reopen() throws {
        let directory: String
        do {
            let h = try Harness()
            try h.put("a", "1")
            try h.put("a", "2")
            _ = try h.apply([.compact(Etcd.CompactionRequest(revision: 2))])
            directory = h.directory
            let copy = directory + "-copy"
            try? FileManager.default.removeItem(atPath: copy)
            // RocksDB holds a lock: reopen a copy taken while it is open (the WAL has everything).
            try FileManager.default.copyItem(atPath: directory, toPath: copy)
            let reopened = MVCCStore(storage: try RaftStorage(existingDirectory: copy))
            #expect(try reopened.revision() == 3 && reopened.compactedRevision() == 2)
            #expect(try reopened.range(Etcd.RangeRequest(key: Self.bytes("a"), revision: 2)).kvs.first?.value == Self.bytes("1"))
            try? FileManager.default.removeItem(atPath: copy)
        }
    }

    @Test("NOSPACE: raised through the log, it refuses puts and txns that put, lets reads, deletes and compactions through, takes no revision, survives a reopen, and disarming ends it")
    func noSpaceAlarm() throws {
        let h = try Harness()
        try h.put("a", "1")
        let raise = Etcd.AlarmRequest(action: .activate, memberID: 7, alarm: .noSpace)
        guard case .alarm(let raised) = try h.apply([.alarm(raise)])[0] else { Issue.record("the raise was refused"); return }
        #expect(raised.alarms == [Etcd.AlarmMember(memberID: 7, alarm: .noSpace)])
        #expect(try h.store.revision() == 2, "raising an alarm takes no revision")
        #expect(try h.store.alarms().noSpace)

        let putInTxn = Etcd.TxnRequest(success: [.put(Etcd.PutRequest(key: Self.bytes("b"), value: Self.bytes("2")))])
        let deleteInTxn = Etcd.TxnRequest(failure: [.deleteRange(Etcd.DeleteRangeRequest(key: Self.bytes("zz")))])
        let outcomes = try h.apply([
            .put(Etcd.PutRequest(key: Self.bytes("b"), value: Self.bytes("2"))),
            .txn(putInTxn),
            .txn(deleteInTxn),
            .deleteRange(Etcd.DeleteRangeRequest(key: Self.bytes("a"))),
            .compact(Etcd.CompactionRequest(revision: 2)),
        ])
        guard case .refused(.noSpace) = outcomes[0], case .refused(.noSpace) = outcomes[1] else { Issue.record("writes went through: \(outcomes)"); return }
        guard case .txn = outcomes[2], case .deleteRange(let deleted) = outcomes[3], case .compact = outcomes[4] else { Issue.record("\(outcomes)"); return }
        #expect(deleted.deleted == 1 && deleted.header?.revision == 3)
        #expect(try h.store.range(Etcd.RangeRequest(key: Self.bytes("b"))).kvs.isEmpty, "nothing of a refused put was written")
        #expect(MVCCError.noSpace.status.code == .resourceExhausted && MVCCError.noSpace.status.message == "etcdserver: mvcc: database space exceeded")

        // A reopen (the state on disk) still has it, and another member's raise joins it.
        let copy = h.directory + "-copy"
        try? FileManager.default.removeItem(atPath: copy)
        defer { try? FileManager.default.removeItem(atPath: copy) }
        try FileManager.default.copyItem(atPath: h.directory, toPath: copy)
        #expect(try MVCCStore(storage: try RaftStorage(existingDirectory: copy)).alarms().members == [Etcd.AlarmMember(memberID: 7, alarm: .noSpace)])
        #expect(try MVCCStore(storage: try RaftStorage(existingDirectory: copy)).check().alarms.noSpace, "fsck reports it")

        _ = try h.apply([.alarm(Etcd.AlarmRequest(action: .activate, memberID: 3, alarm: .noSpace))])
        #expect(try h.store.alarms().members.map(\.memberID) == [3, 7])
        // Disarming one that is not raised answers nothing; disarming both ends the refusals.
        guard case .alarm(let none) = try h.apply([.alarm(Etcd.AlarmRequest(action: .deactivate, memberID: 9, alarm: .noSpace))])[0] else { return }
        #expect(none.alarms.isEmpty)
        _ = try h.apply([.alarm(Etcd.AlarmRequest(action: .deactivate, memberID: 7, alarm: .noSpace))])
        guard case .refused(.noSpace) = try h.apply([.put(Etcd.PutRequest(key: Self.bytes("b"), value: Self.bytes("2")))])[0] else {
            Issue.record("one member's alarm still stands: writes must still be refused"); return
        }
        _ = try h.apply([.alarm(Etcd.AlarmRequest(action: .deactivate, memberID: 3, alarm: .noSpace))])
        #expect(try h.store.alarms().members.isEmpty)
        let put = try h.put("b", "2")
        #expect(put.header?.revision == 4)
    }

    @Test("the space quota: 0 is etcd's 2 GiB, negative is none; a command that adds nothing is always admitted; a txn costs its larger branch")
    func spaceQuota() {
        #expect(SpaceQuota(setting: 0).limit == 2 << 30 && SpaceQuota(setting: -1).limit == nil && SpaceQuota(setting: 4096).limit == 4096)
        let quota = SpaceQuota(setting: 1000)
        let put = MVCCCommand.put(Etcd.PutRequest(key: Self.bytes("k"), value: [UInt8](repeating: 1, count: 100)))
        #expect(quota.admits(put, size: 800) && !quota.admits(put, size: 900))
        #expect(quota.admits(.deleteRange(Etcd.DeleteRangeRequest(key: Self.bytes("k"))), size: 5000))
        let txn = Etcd.TxnRequest(
            success: [.put(Etcd.PutRequest(key: Self.bytes("a"), value: [UInt8](repeating: 1, count: 10)))],
            failure: [.put(Etcd.PutRequest(key: Self.bytes("b"), value: [UInt8](repeating: 1, count: 300)))])
        #expect(MVCCCommand.txn(txn).addedBytes == 1 + 300 + 64)
        #expect(SpaceQuota(setting: -1).admits(put, size: .max - 1000))
    }

    @Test("txn rules: too many operations, empty keys, the same key written twice in a branch")
    func requestRules() throws {
        func put(_ key: String) -> Etcd.RequestOp { .put(Etcd.PutRequest(key: Self.bytes(key), value: Self.bytes("v"))) }
        func delete(_ key: String, _ end: String = "") -> Etcd.RequestOp { .deleteRange(Etcd.DeleteRangeRequest(key: Self.bytes(key), rangeEnd: Self.bytes(end))) }
        #expect(throws: MVCCError.duplicateKey) { try RequestRules.check(Etcd.TxnRequest(success: [put("a"), put("a")])) }
        #expect(throws: MVCCError.duplicateKey) { try RequestRules.check(Etcd.TxnRequest(success: [delete("a", "c"), put("b")])) }
        #expect(throws: MVCCError.duplicateKey) {
            try RequestRules.check(Etcd.TxnRequest(success: [put("a"), .txn(Etcd.TxnRequest(failure: [put("a")]))]))
        }
        // The same key in the two branches, or in both branches of a nested txn, is fine.
        try RequestRules.check(Etcd.TxnRequest(success: [put("a")], failure: [put("a")]))
        try RequestRules.check(Etcd.TxnRequest(success: [.txn(Etcd.TxnRequest(success: [put("a")], failure: [put("a")]))]))
        try RequestRules.check(Etcd.TxnRequest(success: [delete("a", "c"), delete("b")]))
        #expect(throws: MVCCError.tooManyOperations) { try RequestRules.check(Etcd.TxnRequest(success: (0..<129).map { put("k\($0)") })) }
        try RequestRules.check(Etcd.TxnRequest(success: (0..<128).map { put("k\($0)") }))
        #expect(throws: MVCCError.emptyKey) { try RequestRules.check(Etcd.TxnRequest(compare: [Etcd.Compare()])) }
        #expect(throws: MVCCError.emptyKey) { try RequestRules.check(Etcd.TxnRequest(success: [put("")])) }
    }

    @Test("index keys sort as their user keys do, and decode back (random keys with 0x00 and 0xFF)")
    func keyEncodingOrder() throws {
        var generator = SystemRandomNumberGenerator()
        let alphabet: [UInt8] = [0x00, 0x01, 0x02, 0x7F, 0xFE, 0xFF]
        for _ in 0..<2_000 {
            let a = (0..<Int.random(in: 0...5, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }
            let b = (0..<Int.random(in: 0...5, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }
            let (ra, rb) = (Int64.random(in: 1...1_000, using: &generator), Int64.random(in: 1...1_000, using: &generator))
            let (ka, kb) = (MVCCKeys.version(a, ra), MVCCKeys.version(b, rb))
            if a != b {
                #expect(ka.lexicographicallyPrecedes(kb) == a.lexicographicallyPrecedes(b), "\(a) \(b)")
                #expect(MVCCKeys.pastVersions(of: a).lexicographicallyPrecedes(kb) == a.lexicographicallyPrecedes(b), "\(a) \(b)")
            } else {
                #expect(ka.lexicographicallyPrecedes(kb) == (ra > rb) || ra == rb, "newest first")
            }
            let decoded = ka.withUnsafeBytes { MVCCKeys.decodeIndexKey($0) }
            #expect(decoded?.key == a && decoded?.revision == ra)
            let slot = MVCCKeys.current(a).withUnsafeBytes { MVCCKeys.decodeIndexKey($0) }
            #expect(slot?.key == a && slot?.revision == nil)
            #expect(MVCCKeys.current(a).lexicographicallyPrecedes(ka), "the newest version sorts before the older ones")
        }
    }

    @Test("against a model: random puts, deletes and txns in random batches; every revision reads as the model says, before and after a compaction")
    func modelCheck() throws {
        let h = try Harness()
        var generator = SeededGenerator(seed: 42)
        let keys = (0..<6).map { Self.bytes("m\($0)") }
        // The model: the whole store at every revision.
        var states: [Int64: [[UInt8]: Etcd.KeyValue]] = [1: [:]]
        var revision: Int64 = 1
        for _ in 0..<60 {
            var commands: [MVCCCommand] = []
            for _ in 0..<Int.random(in: 1...5, using: &generator) {
                let key = keys.randomElement(using: &generator)!
                let value = Self.bytes("v\(Int.random(in: 0..<1000, using: &generator))")
                switch Int.random(in: 0..<4, using: &generator) {
                case 0, 1: commands.append(.put(Etcd.PutRequest(key: key, value: value)))
                case 2: commands.append(.deleteRange(Etcd.DeleteRangeRequest(key: key, rangeEnd: Int.random(in: 0..<2, using: &generator) == 0 ? [] : Self.bytes("m4"))))
                default:
                    let other = keys.randomElement(using: &generator)!
                    commands.append(.txn(Etcd.TxnRequest(
                        compare: [Etcd.Compare(result: .greater, target: .version(0), key: key)],
                        success: [.put(Etcd.PutRequest(key: key, value: value))],
                        failure: [.put(Etcd.PutRequest(key: other, value: value))])))
                }
            }
            try h.apply(commands)
            // Play the same commands on the model.
            for command in commands {
                var state = states[revision]!
                var wrote = false
                func put(_ key: [UInt8], _ value: [UInt8]) {
                    let old = state[key]
                    state[key] = Etcd.KeyValue(key: key, createRevision: old?.createRevision ?? revision + 1, modRevision: revision + 1,
                                               version: (old?.version ?? 0) + 1, value: value)
                    wrote = true
                }
                switch command {
                case .put(let request): put(request.key, request.value)
                case .deleteRange(let request):
                    let range = KeyRange(key: request.key, rangeEnd: request.rangeEnd)
                    for key in state.keys where range.contains(key) { state[key] = nil; wrote = true }
                case .txn(let request):
                    let holds = state[request.compare[0].key] != nil
                    guard case .put(let chosen) = (holds ? request.success : request.failure)[0] else { continue }
                    put(chosen.key, chosen.value)
                case .compact, .alarm: break
                }
                if wrote {
                    revision += 1
                    states[revision] = state
                }
            }
        }
        #expect(try h.store.revision() == revision)
        func checkEvery(from first: Int64) throws {
            for at in first...revision {
                let read = try h.store.range(Etcd.RangeRequest(key: Self.bytes("m"), rangeEnd: Self.bytes("n"), revision: at))
                let expected = states[at]!.values.sorted { $0.key.lexicographicallyPrecedes($1.key) }
                #expect(read.kvs == expected, "revision \(at)")
                for key in keys { #expect(try h.store.range(Etcd.RangeRequest(key: key, revision: at)).kvs.first == states[at]![key], "\(key) at \(at)") }
            }
        }
        try checkEvery(from: 1)
        let compactAt = revision / 2
        _ = try h.apply([.compact(Etcd.CompactionRequest(revision: compactAt))])
        // The removal in steps of two versions: between steps every answer, hash and check is
        // already what it will be at the end.
        let hash = try h.store.hashKV(revision: 0)
        var steps = 0
        repeat {
            try checkEvery(from: compactAt)
            #expect(throws: MVCCError.compacted) { try h.store.range(Etcd.RangeRequest(key: Self.bytes("m0"), revision: compactAt - 1)) }
            #expect(try h.store.hashKV(revision: 0) == hash, "after \(steps) steps")
            let report = try h.store.check()
            #expect(report.revision == revision && report.compacted == compactAt)
            steps += 1
        } while try h.store.compactStep(budget: 2)
        #expect(steps > 5, "the removal took \(steps) steps")
        #expect(try h.store.check().compactionDue == nil)
        // Every record that ends at or below the compaction is gone; one that goes past it stays whole.
        #expect(try h.historyRecords().allSatisfy { $0.last!.revision > compactAt })
        #expect(try Set(h.historyOnDisk().filter { $0 > compactAt }) == Set((compactAt + 1)...revision), "a record for every write past the compaction")
    }

    @Test("the history of a batch is one record: every write's revision, sub and key in order, a Txn's writes at one revision")
    func historyRecordPerBatch() throws {
        let h = try Harness()
        try h.apply([
            .put(Etcd.PutRequest(key: Self.bytes("a"), value: Self.bytes("1"))),  // 2
            .txn(Etcd.TxnRequest(success: [  // 3
                .put(Etcd.PutRequest(key: Self.bytes("b"), value: Self.bytes("1"))),
                .put(Etcd.PutRequest(key: Self.bytes("c"), value: Self.bytes("1"))),
            ])),
            .put(Etcd.PutRequest(key: Self.bytes("d"), ignoreValue: true)),  // refused: no trace
            .deleteRange(Etcd.DeleteRangeRequest(key: Self.bytes("a"), rangeEnd: Self.bytes("c"))),  // 4: a and b
        ])
        try h.put("e", "1")  // 5, a batch of its own
        let write = { (revision: Int64, sub: Int64, key: String) in HistoryRecord.Write(revision: revision, sub: sub, key: Self.bytes(key)) }
        #expect(try h.historyRecords() == [
            [write(2, 0, "a"), write(3, 0, "b"), write(3, 1, "c"), write(4, 0, "a"), write(4, 1, "b")],
            [write(5, 0, "e")],
        ])
        #expect(try h.store.check().revision == 5)
    }

    @Test("replicas that applied the same writes in batches of their own hash alike (Hash and HashKV), before and after a compaction through the middle of a record")
    func hashAcrossBatchings() throws {
        let one = try Harness()
        let many = try Harness()
        var commands: [MVCCCommand] = []
        for round in 0..<12 { commands.append(.put(Etcd.PutRequest(key: Self.bytes("k\(round % 5)"), value: Self.bytes("v\(round)")))) }
        commands.append(.deleteRange(Etcd.DeleteRangeRequest(key: Self.bytes("k1"))))
        try one.apply(commands)
        for command in commands { try many.apply([command]) }
        #expect(try one.historyRecords().count == 1 && many.historyRecords().count == 13)
        #expect(try one.store.hashAll() == many.store.hashAll())
        for harness in [one, many] {
            _ = try harness.apply([.compact(Etcd.CompactionRequest(revision: 7))])
            while try harness.store.compactStep(budget: 3) {}
            #expect(try harness.store.check().compacted == 7)
        }
        #expect(try one.historyOnDisk().count == 13, "the one record goes past the compaction: it stays whole")
        #expect(try many.historyOnDisk() == Array(8...14))
        #expect(try one.store.hashAll() == many.store.hashAll())
        #expect(try one.store.hashKV(revision: 0).hash == many.store.hashKV(revision: 0).hash)
    }

    @Test("fsck refuses a history record that does not decode, one that goes back, and one naming a key with no version at its revision")
    func checkCatchesBadHistory() throws {
        // Each replaces the record of revision 3 (b's put) in a store of three puts, one a batch.
        let damaged: [(String, [UInt8], [UInt8])] = [
            ("does not decode", MVCCKeys.historyRecord(through: 3), [0, 0, 0]),
            ("goes back", MVCCKeys.historyRecord(through: 3), HistoryRecord.encode([(2, Self.bytes("a")), (3, Self.bytes("b"))])),
            ("no version there", MVCCKeys.historyRecord(through: 3), HistoryRecord.encode([(3, Self.bytes("a"))])),
        ]
        for (what, key, value) in damaged {
            let h = try Harness()
            try h.put("a", "1")  // 2
            try h.put("b", "1")  // 3
            try h.put("c", "1")  // 4
            #expect(try h.store.check().revision == 4)
            let batch = h.storage.stateBatch()
            batch.put(key, value)
            try h.storage.writeState(batch)
            #expect(throws: StorageError.self, "\(what)") { try h.store.check() }
        }
    }

    @Test("a state machine from before the MVCC store is adopted: each key a version at revision 2, its history in the one-key-per-write form, read by fsck, Hash and compaction")
    func adoptsLegacyState() throws {
        let h = try Harness()
        let batch = h.storage.stateBatch()
        batch.put([MVCCKeys.namespace] + Self.bytes("x"), Self.bytes("1"))
        batch.put([MVCCKeys.namespace] + Self.bytes("y"), Self.bytes("2"))
        try h.storage.writeState(batch)
        #expect(try h.store.adoptLegacyState() == 2)
        #expect(try h.store.adoptLegacyState() == 0, "once")
        #expect(try h.get("y")?.value == Self.bytes("2") && h.get("y")?.modRevision == 2)
        try h.put("x", "3")  // 3
        #expect(try h.historyRecords().map { $0.map(\.revision) } == [[2], [2], [3]])
        #expect(try h.historyRecords().prefix(2).map { $0[0].sub } == [0, 1])
        #expect(try h.store.check().keys == 2)
        _ = try h.apply([.compact(Etcd.CompactionRequest(revision: 2))])
        while try h.store.compactStep() {}
        #expect(try h.historyOnDisk() == [3])
        #expect(try h.store.check().compacted == 2)
    }

    @Test("a deleted key's tombstone goes after the versions under it, also when the key is written again between steps")
    func tombstoneRemovedLast() throws {
        let h = try Harness()
        for round in 0..<6 { try h.put("t", "v\(round)") }  // 2...7
        _ = try h.delete("t")  // 8
        try h.put("u", "1")  // 9
        _ = try h.apply([.compact(Etcd.CompactionRequest(revision: 8))])
        #expect(try h.store.compactStep(budget: 2), "stops inside t")
        #expect(try h.get("t") == nil && h.get("t", revision: 8) == nil, "t stays deleted while its older versions are removed")
        try h.put("t", "back")  // 10: the tombstone moves from the current slot under revision 8
        while try h.store.compactStep(budget: 2) {
            #expect(try h.get("t", revision: 9) == nil)
        }
        #expect(try h.versionsOnDisk() == ["t@10", "u@9"])
        #expect(try h.get("t")?.value == Self.bytes("back") && h.get("t")?.version == 1)
    }

    @Test("a compaction's removal in steps, with writes between them: a key deleted before the compaction and written again, a second compaction before the first is done")
    func compactionStepsBetweenWrites() throws {
        let h = try Harness()
        for round in 0..<20 { try h.put("k\(round % 4)", "v\(round)") }  // revisions 2...21
        _ = try h.delete("k3")  // 22: k3's newest is a tombstone
        guard case .compact = try h.apply([.compact(Etcd.CompactionRequest(revision: 22))])[0] else { Issue.record("compact refused"); return }
        #expect(try h.store.compactStep(budget: 5), "k0's five versions: more remains")
        #expect(try h.versionsOnDisk().filter { $0.hasPrefix("k0") } == ["k0@18"], "the first step did k0")
        // Writes to keys the removal has not reached: k0 again, and k3 over its tombstone.
        try h.put("k0", "after")  // 23
        try h.put("k3", "again")  // 24
        #expect(try h.get("k3")?.version == 1 && h.get("k3")?.createRevision == 24, "a key written after its deletion starts over")
        guard case .compact = try h.apply([.compact(Etcd.CompactionRequest(revision: 23))])[0] else { Issue.record("second compact refused"); return }
        while try h.store.compactStep(budget: 1) {}
        #expect(try h.versionsOnDisk() == ["k0@23", "k1@19", "k2@20", "k3@24"])
        #expect(try h.get("k0", revision: 23)?.value == Self.bytes("after"))
        #expect(try h.get("k1")?.value == Self.bytes("v17") && h.get("k1")?.version == 5)
        #expect(try h.get("k3", revision: 23) == nil)
        #expect(try h.store.check().compactionDue == nil)
    }
}

/// A small deterministic generator (SplitMix64), so a failing case replays.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
