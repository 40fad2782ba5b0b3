import Foundation
import GreyRPC

/// Parsers for the values of greyd's settings, shared by its flags, environment and tools.
public enum SettingParsing {
    /// `host:port` (IPv6 hosts in brackets) split into host and port, or nil.
    public static func hostPort(_ text: String) -> (host: String, port: Int)? {
        HostPort(text).map { ($0.host, $0.port) }
    }

    /// A node id: decimal, or hexadecimal after `0x` (etcdctl prints member ids in hex: a node
    /// added with `etcdctl member add` starts with `GREY_NODE_ID=0x<that id>`).
    public static func nodeID(_ text: String) -> UInt64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.lowercased().hasPrefix("0x") { return UInt64(trimmed.dropFirst(2), radix: 16) }
        return UInt64(trimmed)
    }

    /// `150ms`, `2s`, `1m`, `500us`: a positive duration, or nil.
    public static func duration(_ text: String) -> Duration? {
        let units: [(String, Duration)] = [("ms", .milliseconds(1)), ("us", .microseconds(1)), ("s", .seconds(1)), ("m", .seconds(60))]
        for (suffix, unit) in units where text.hasSuffix(suffix) {
            guard let amount = Int(text.dropLast(suffix.count)), amount > 0 else { return nil }
            return unit * amount
        }
        return nil
    }

    /// A clock-drift bound as a fraction: `5%` or `0.05`; from 0 up to 100%, or nil.
    public static func fraction(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let value = trimmed.hasSuffix("%") ? Double(trimmed.dropLast()).map { $0 / 100 } : Double(trimmed)
        guard let value, value.isFinite, value >= 0, value <= 1 else { return nil }
        return value
    }

    /// A size in bytes: a whole number as etcd takes it (`8589934592`; 0 and negative numbers
    /// keep their etcd meanings), or with a binary unit (`512MiB`, `8GiB`, `64KiB`); nil otherwise.
    public static func bytes(_ text: String) -> Int64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        for (unit, scale) in [("KiB", Int64(1) << 10), ("MiB", Int64(1) << 20), ("GiB", Int64(1) << 30)] where trimmed.hasSuffix(unit) {
            guard let number = Int64(trimmed.dropLast(unit.count)), number >= 0 else { return nil }
            let (product, overflow) = number.multipliedReportingOverflow(by: scale)
            return overflow ? nil : product
        }
        return Int64(trimmed)
    }

    /// A switch: true/false, yes/no, on/off or 1/0 (YAML's booleans arrive as text); nil otherwise.
    public static func bool(_ text: String) -> Bool? {
        switch text.trimmingCharacters(in: .whitespaces).lowercased() {
        case "true", "yes", "on", "1": true
        case "false", "no", "off", "0": false
        default: nil
        }
    }
}
