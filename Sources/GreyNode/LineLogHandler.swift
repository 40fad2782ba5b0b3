import Foundation
import Logging

/// greyd's log lines, through swift-log: one line per event, as text for a person
/// (`greyd[0] became leader in term 3 term=3 leader=0`) or as JSON for a log pipeline
/// (`{"ts":"…","level":"info","node":0,"msg":"became leader in term 3","term":3,"leader":0}`),
/// handed to `write` (stderr in greyd). Levels filter as swift-log's do.
public struct LineLogHandler: LogHandler {
    public enum Format: String, Sendable, CaseIterable {
        case text, json
        /// The message alone, for an in-process cluster's own log (not a greyd setting).
        case plain
    }

    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let format: Format
    private let node: UInt64
    private let write: @Sendable (String) -> Void

    public init(node: UInt64, format: Format, level: Logger.Level, write: @escaping @Sendable (String) -> Void) {
        self.node = node
        self.format = format
        self.logLevel = level
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { $1 } }
        if let given = event.metadata { all.merge(given) { $1 } }
        switch format {
        case .plain:
            write("\(event.message)")
        case .text:
            let extra = all.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
            let level = event.level >= .warning ? "\(event.level.rawValue.uppercased()): " : ""
            write("greyd[\(node)] \(level)\(event.message)\(extra)\n")
        case .json:
            var object: [String: Any] = [
                "ts": ISO8601DateFormatter.string(from: Date(), timeZone: .gmt, formatOptions: [.withInternetDateTime, .withFractionalSeconds]),
                "level": event.level.rawValue, "node": node, "msg": "\(event.message)",
            ]
            for (key, value) in all { object[key] = Self.json(value) }
            guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
            write(String(decoding: data, as: UTF8.self) + "\n")
        }
    }

    /// A metadata value as JSON: a whole number stays a number.
    private static func json(_ value: Logger.MetadataValue) -> Any {
        switch value {
        case .string(let text): UInt64(text).map { $0 as Any } ?? text
        case .stringConvertible(let convertible): UInt64(convertible.description).map { $0 as Any } ?? convertible.description
        case .array(let values): values.map(json)
        case .dictionary(let values): values.mapValues(json)
        }
    }
}
