/// A `host:port` address as users type it (IPv6 hosts in brackets).
public struct HostPort: Sendable, Equatable {
    public var host: String
    public var port: Int

    /// Parses `text`, or returns nil when it is not `host:port` with a port in 1...65535.
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), colon != text.startIndex,
            let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        self.host = host
        self.port = port
    }
}
