/// Durations as etcdctl and every Go tool write them: one or more number-unit pairs, units
/// ns, us (µs), ms, s, m, h — "500ms", "5s", "1m30s", "1.5h". A bare number other than 0 is
/// refused, as Go refuses it: "5" might mean seconds or milliseconds, and guessing wrong
/// turns a timeout into a hang or an instant failure.
enum DurationText {
    static func parse(_ text: String) -> Duration? {
        if text == "0" { return .zero }
        var total = 0.0  // nanoseconds
        var rest = Substring(text)
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { !$0.isNumber && $0 != "." }
            rest = rest.dropFirst(unit.count)
            let scale: Double
            switch unit {
            case "ns": scale = 1
            case "us", "µs": scale = 1e3
            case "ms": scale = 1e6
            case "s": scale = 1e9
            case "m": scale = 60e9
            case "h": scale = 3600e9
            default: return nil
            }
            total += value * scale
        }
        guard total.isFinite, total < Double(Int64.max) else { return nil }
        return .nanoseconds(Int64(total))
    }
}
