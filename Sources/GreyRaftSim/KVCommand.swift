import GreyRaft

/// A client operation on the simulated key-value store.
public enum KVOperation: Hashable, Sendable {
    case put(key: String, value: String)
    case get(key: String, consistency: ReadLevel)
    case delete(key: String)
    /// Swap to `new` if the key holds `expected` (nil: if the key is absent).
    case cas(key: String, expected: String?, new: String)

    public var key: String {
        switch self {
        case .put(let key, _), .get(let key, _), .delete(let key), .cas(let key, _, _): key
        }
    }

    public var isWrite: Bool {
        if case .get = self { return false }
        return true
    }
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
        case .get: preconditionFailure("reads are not logged")
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
        default: return (id, .cas(key: parts[1], expected: parts[2] == "-" ? nil : String(parts[2].dropFirst()), new: parts[3]))
        }
    }
}

/// The replicated state machine: a map from keys to values.
public struct KVStateMachine: Hashable, Sendable {
    public private(set) var values: [String: String] = [:]
    public private(set) var appliedIndex: LogIndex = 0

    public init() {}

    /// Applies a committed command and returns the operation's id and result.
    mutating func apply(_ entry: LogEntry) -> (id: UInt64, result: KVResult)? {
        precondition(entry.index == appliedIndex.next, "apply of \(entry.index) after \(appliedIndex)")
        appliedIndex = entry.index
        guard case .command(let bytes) = entry.payload else { return nil }
        let (id, operation) = KVCommand.decode(bytes)
        return (id, Self.execute(operation, on: &values))
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
        }
    }

    /// Replaces the state with a snapshot's.
    mutating func restore(values: [String: String], appliedIndex: LogIndex) {
        self.values = values
        self.appliedIndex = appliedIndex
    }
}
