import GreyRaft

/// A client operation on the simulated key-value store.
public enum KVOperation: Hashable, Sendable {
    case put(key: String, value: String)
    case get(key: String, consistency: ReadLevel)
    case delete(key: String)
    /// Swap to `new` if the key holds `expected` (nil: if the key is absent).
    case cas(key: String, expected: String?, new: String)
    /// A bank transfer as an etcd Txn: if both accounts' mod revisions are still the ones an
    /// audit saw (`seen`, from then to), put the new balances the client computed from it.
    case transfer(from: String, to: String, newFrom: Int, newTo: Int, seen: [Int])
    /// Every account's balance and mod revision, read at one revision (a Range of the accounts).
    case audit(consistency: ReadLevel)

    /// The key the per-key linearizability checker groups by; the bank's operations span keys
    /// and are checked by their audits instead (`Simulation.checkBank`).
    public var key: String {
        switch self {
        case .put(let key, _), .get(let key, _), .delete(let key), .cas(let key, _, _): key
        case .transfer, .audit: Bank.prefix
        }
    }

    public var isWrite: Bool {
        switch self {
        case .get, .audit: false
        default: true
        }
    }

    public var isBank: Bool {
        switch self {
        case .transfer, .audit: true
        default: false
        }
    }
}

/// The bank the simulation's Txn clients keep: a few accounts whose balances must always sum
/// to the same total, at every revision any replica serves (issue 14's bank workload; chaos.py
/// runs the same against real greyd through etcd's Txn and Range).
public enum Bank {
    static let prefix = "acct"
    public static let accounts = 3
    /// Every account's balance before its first transfer (an absent key).
    public static let openingBalance = 100
    public static var total: Int { accounts * openingBalance }
    static func account(_ number: Int) -> String { "\(prefix)\(number)" }
}

/// The three read consistency levels Grey offers.
public enum ReadLevel: Hashable, Sendable, CaseIterable {
    case linearizable, lease, stale
}

/// What an operation returned.
public enum KVResult: Hashable, Sendable {
    case written
    case value(String?)
    case deleted(existed: Bool)
    case swapped(succeeded: Bool, current: String?)
    /// Whether a transfer's compares held (and its puts were made).
    case transferred(succeeded: Bool)
    /// An audit's answer: each account's balance and mod revision, and the store's revision.
    case audited(balances: [Int], modRevisions: [Int], revision: Int)
}

/// Encodes writes as log commands: an operation id so applies can be matched to requests
/// and acknowledged writes found again in the log.
enum KVCommand {
    static func encode(id: UInt64, _ operation: KVOperation) -> [UInt8] {
        var bytes: [UInt8] = []
        withUnsafeBytes(of: id.littleEndian) { bytes.append(contentsOf: $0) }
        let text: String
        switch operation {
        case let .put(key, value): text = "P\u{1}\(key)\u{1}\(value)"
        case let .delete(key): text = "D\u{1}\(key)"
        case let .cas(key, expected, new): text = "C\u{1}\(key)\u{1}\(expected.map { "=" + $0 } ?? "-")\u{1}\(new)"
        case let .transfer(from, to, newFrom, newTo, seen): text = (["T", from, to, String(newFrom), String(newTo)] + seen.map(String.init)).joined(separator: "\u{1}")
        case .get, .audit: preconditionFailure("reads are not logged")
        }
        bytes.append(contentsOf: text.utf8)
        return bytes
    }

    static func decode(_ bytes: [UInt8]) -> (id: UInt64, operation: KVOperation) {
        let id = bytes.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        let parts = String(decoding: bytes.dropFirst(8), as: UTF8.self).split(separator: "\u{1}", omittingEmptySubsequences: false).map(String.init)
        switch parts[0] {
        case "P": return (id, .put(key: parts[1], value: parts[2]))
        case "D": return (id, .delete(key: parts[1]))
        case "T": return (id, .transfer(from: parts[1], to: parts[2], newFrom: Int(parts[3])!, newTo: Int(parts[4])!, seen: parts[5...].map { Int($0)! }))
        default: return (id, .cas(key: parts[1], expected: parts[2] == "-" ? nil : String(parts[2].dropFirst()), new: parts[3]))
        }
    }
}

/// The replicated state machine: a map from keys to values, with etcd's revisions — one more
/// per command that changes something, and each key's mod revision — that the bank's Txns
/// compare.
public struct KVStateMachine: Hashable, Sendable {
    public private(set) var values: [String: String] = [:]
    public private(set) var appliedIndex: LogIndex = 0
    /// The store's revision: how many applied commands changed it.
    public private(set) var revision = 0
    /// The revision at which each present key was last written.
    public private(set) var modRevisions: [String: Int] = [:]
    /// A deliberately broken store for the bank's checker to catch: a transfer's puts are made
    /// whatever its compares say (`--broken txn-without-compare`).
    var ignoresCompares = false

    public init() {}

    /// Applies a committed command and returns the operation's id and result.
    mutating func apply(_ entry: LogEntry) -> (id: UInt64, result: KVResult)? {
        precondition(entry.index == appliedIndex.next, "apply of \(entry.index) after \(appliedIndex)")
        appliedIndex = entry.index
        guard case .command(let bytes) = entry.payload else { return nil }
        let (id, operation) = KVCommand.decode(bytes)
        if case let .transfer(from, to, newFrom, newTo, seen) = operation {
            let holds = [from, to].map { modRevisions[$0] ?? 0 } == seen
            guard holds || ignoresCompares else { return (id, .transferred(succeeded: false)) }
            revision += 1
            values[from] = String(newFrom)
            values[to] = String(newTo)
            modRevisions[from] = revision
            modRevisions[to] = revision
            return (id, .transferred(succeeded: holds))
        }
        // Every other command touches its one key.
        let key = operation.key
        let before = values[key]
        let result = Self.execute(operation, on: &values)
        if values[key] != before {
            revision += 1
            modRevisions[key] = values[key] == nil ? nil : revision
        }
        return (id, result)
    }

    /// An audit of the bank as this replica holds it now.
    func audit() -> KVResult {
        let accounts = (0..<Bank.accounts).map(Bank.account)
        return .audited(
            balances: accounts.map { values[$0].flatMap { Int($0) } ?? Bank.openingBalance },
            modRevisions: accounts.map { modRevisions[$0] ?? 0 }, revision: revision)
    }

    /// The model both the state machine and the linearizability checker use.
    static func execute(_ operation: KVOperation, on values: inout [String: String]) -> KVResult {
        switch operation {
        case let .put(key, value):
            values[key] = value
            return .written
        case let .get(key, _):
            return .value(values[key])
        case let .delete(key):
            return .deleted(existed: values.removeValue(forKey: key) != nil)
        case let .cas(key, expected, new):
            let current = values[key]
            guard current == expected else { return .swapped(succeeded: false, current: current) }
            values[key] = new
            return .swapped(succeeded: true, current: current)
        case .transfer, .audit:
            preconditionFailure("the bank's operations span keys: the state machine applies them, and the per-key checker never sees them")
        }
    }

    /// The whole state as one map, for a snapshot: the values, and the revisions under keys no
    /// client uses (a leading NUL), so a node restored from a snapshot compares as its donor did.
    var image: [String: String] {
        var image = values
        image[Self.revisionKey] = String(revision)
        for (key, modRevision) in modRevisions { image[Self.modRevisionPrefix + key] = String(modRevision) }
        return image
    }

    /// Replaces the state with a snapshot's `image`.
    mutating func restore(image: [String: String], appliedIndex: LogIndex) {
        values = image.filter { !$0.key.hasPrefix("\u{0}") }
        revision = image[Self.revisionKey].flatMap { Int($0) } ?? 0
        modRevisions = [:]
        for (key, value) in image where key.hasPrefix(Self.modRevisionPrefix) {
            modRevisions[String(key.dropFirst(Self.modRevisionPrefix.count))] = Int(value)
        }
        self.appliedIndex = appliedIndex
    }

    private static let revisionKey = "\u{0}revision"
    private static let modRevisionPrefix = "\u{0}mod\u{0}"
}
