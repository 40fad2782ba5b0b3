import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Hands out loopback ports for servers the tests start, never the same block twice in one
/// test run. Picking at random collided: the suites run side by side, and a clean-clone run
/// had two three-node clusters draw the same block, so etcdctl talked to the other test's
/// cluster (its revisions, its keys) while this test's nodes failed to bind.
public enum TestPorts {
    /// The next unused port; starts at a per-process offset so a run that overlaps a killed
    /// one's leftovers is unlikely to start on their ports (a busy port is skipped anyway).
    private static let next = Mutex(20_000 + Int(getpid() % 200) * 50)
    /// Below the ephemeral range (32768+), which outgoing connections take their ports from.
    private static let limit = 32_000

    /// Reserves `count` consecutive ports, each free (bindable on 127.0.0.1) when reserved;
    /// returns the first.
    public static func reserve(_ count: Int = 1) -> Int {
        next.withLock { next in
            while true {
                if next + count > limit { next = 20_000 }
                let base = next
                next += count
                if (base..<base + count).allSatisfy(isFree) { return base }
            }
        }
    }

    /// Whether nothing listens on (or holds) `port` on 127.0.0.1 right now.
    private static func isFree(_ port: Int) -> Bool {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { return false }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
