/// The `grpc-timeout` header: at most eight ASCII digits and a unit (H, M, S, m, u, n).
public enum GRPCTimeout {
    /// The timeout in nanoseconds, or nil when the value is malformed.
    public static func parse(_ value: String) -> Int64? {
        let bytes = Array(value.utf8)
        guard bytes.count >= 2, bytes.count <= 9, let unit = bytes.last else { return nil }
        var amount: Int64 = 0
        for byte in bytes.dropLast() {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            amount = amount * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        let nanosecondsPerUnit: Int64
        switch unit {
        case UInt8(ascii: "H"): nanosecondsPerUnit = 3_600_000_000_000
        case UInt8(ascii: "M"): nanosecondsPerUnit = 60_000_000_000
        case UInt8(ascii: "S"): nanosecondsPerUnit = 1_000_000_000
        case UInt8(ascii: "m"): nanosecondsPerUnit = 1_000_000
        case UInt8(ascii: "u"): nanosecondsPerUnit = 1_000
        case UInt8(ascii: "n"): nanosecondsPerUnit = 1
        default: return nil
        }
        let (product, overflow) = amount.multipliedReportingOverflow(by: nanosecondsPerUnit)
        return overflow ? Int64.max : product
    }

    /// Formats a timeout for the header, choosing the finest unit that fits in eight digits.
    public static func format(nanoseconds: Int64) -> String {
        let units: [(Int64, Character)] = [(1, "n"), (1_000, "u"), (1_000_000, "m"), (1_000_000_000, "S"), (60_000_000_000, "M")]
        let clamped = max(nanoseconds, 0)
        // Rounded up by division, not by adding `scale - 1` first: that overflowed for
        // timeouts near Int64.max (a client's "99999999H", found by the framing fuzzer).
        func roundedUp(_ scale: Int64) -> Int64 { clamped / scale + (clamped % scale == 0 ? 0 : 1) }
        for (scale, unit) in units {
            let amount = roundedUp(scale)
            if amount <= 99_999_999 { return "\(amount)\(unit)" }
        }
        return "\(min(roundedUp(3_600_000_000_000), 99_999_999))H"
    }
}
