import Foundation

/// Histories recorded outside the simulation — by the chaos test against real greyd
/// processes — read from JSON lines, so one checker judges both.
///
/// One operation per line:
/// `{"id":7,"client":2,"op":"cas","key":"k1","expected":"2-5","new":"2-9",`
/// ` "invoked":1200,"completed":1900,"result":{"succeeded":false,"current":"0-3"}}`
/// `op` is put (value), get (consistency), delete or cas (expected, null for "absent", new);
/// times are any monotonic count; `completed` and `result` are null when the client never
/// learned the outcome. Results: put `"written"`, get `{"value":...}`, delete
/// `{"existed":...}`, cas `{"succeeded":...,"current":...}` (strings or null).
public enum HistoryFile {
    public struct FormatError: Error, CustomStringConvertible {
        public var description: String
    }

    public static func load(_ path: String) throws -> [HistoryOperation] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var operations: [HistoryOperation] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            do {
                operations.append(try operation(from: String(line)))
            } catch let error as FormatError {
                throw FormatError(description: "\(path):\(number + 1): \(error.description)")
            }
        }
        return operations
    }

    static func operation(from line: String) throws -> HistoryOperation {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw FormatError(description: "not a JSON object")
        }
        func string(_ name: String) throws -> String {
            guard let value = object[name] as? String else { throw FormatError(description: "'\(name)' must be a string") }
            return value
        }
        func integer(_ name: String) throws -> Int {
            guard let value = object[name] as? Int else { throw FormatError(description: "'\(name)' must be an integer") }
            return value
        }
        let key = try string("key")
        let operation: KVOperation
        switch try string("op") {
        case "put": operation = .put(key: key, value: try string("value"))
        case "delete": operation = .delete(key: key)
        case "cas": operation = .cas(key: key, expected: object["expected"] as? String, new: try string("new"))
        case "get":
            let level: ReadLevel
            switch object["consistency"] as? String ?? "linearizable" {
            case "linearizable": level = .linearizable
            case "lease": level = .lease
            case "stale": level = .stale
            case let other: throw FormatError(description: "unknown consistency '\(other)'")
            }
            operation = .get(key: key, consistency: level)
        case let other: throw FormatError(description: "unknown op '\(other)'")
        }
        let completed = object["completed"] as? Int
        var result: KVResult?
        if completed != nil {
            let answer = object["result"] as? [String: Any]
            switch operation {
            case .put: result = .written
            case .get: result = .value(answer?["value"] as? String)
            case .delete: result = .deleted(existed: answer?["existed"] as? Bool ?? false)
            case .cas: result = .swapped(succeeded: answer?["succeeded"] as? Bool ?? false, current: answer?["current"] as? String)
            case .transfer, .audit: result = nil  // never parsed above: chaos.py checks its bank itself
            }
        }
        return HistoryOperation(
            id: UInt64(try integer("id")), client: try integer("client"), operation: operation,
            invokedAt: try integer("invoked"), completedAt: completed, result: result)
    }
}
