import GreyRPC
import GreyWire
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The options Grey sets on its TCP connections, read back from the kernel with getsockopt on
/// the very sockets the server accepted and the client dialled (both live in this process).
@Suite("TCP socket options")
struct SocketOptionTests {
    /// A connected TCP socket of this process, by its two ports.
    struct OpenSocket {
        var descriptor: Int32
        var localPort: Int
        var remotePort: Int
    }

    /// Every connected IPv4 TCP socket this process holds.
    static func openSockets() -> [OpenSocket] {
        var found: [OpenSocket] = []
        for descriptor in Int32(0)..<4_096 {
            var local = sockaddr_in()
            var remote = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let named = withUnsafeMutablePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
            }
            guard named == 0, local.sin_family == sa_family_t(AF_INET) else { continue }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let peered = withUnsafeMutablePointer(to: &remote) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(descriptor, $0, &length) }
            }
            guard peered == 0 else { continue }
            found.append(OpenSocket(descriptor: descriptor, localPort: Int(UInt16(bigEndian: local.sin_port)), remotePort: Int(UInt16(bigEndian: remote.sin_port))))
        }
        return found
    }

    static func option(_ descriptor: Int32, level: Int32, name: Int32) -> Int32 {
        var value: Int32 = -1
        var length = socklen_t(MemoryLayout<Int32>.size)
        let status = getsockopt(descriptor, level, name, &value, &length)
        return status == 0 ? value : -1
    }

    @Test("server and client sockets have TCP_NODELAY set at the TCP level, and SO_DEBUG off")
    func noDelayAtTheTCPLevel() async throws {
        let server = try await TestServer.start()
        let channel = try server.channel()
        _ = try await channel.call(KVMethods.put, PutRequest(key: [1], value: [2]))
        let sockets = Self.openSockets()
        let accepted = sockets.filter { $0.localPort == server.port }
        let dialled = sockets.filter { $0.remotePort == server.port }
        try #require(accepted.count == 1 && dialled.count == 1, "sockets found: \(sockets)")
        for socket in accepted + dialled {
            #expect(Self.option(socket.descriptor, level: Int32(IPPROTO_TCP), name: TCP_NODELAY) != 0, "TCP_NODELAY off on \(socket)")
            // SO_DEBUG is what `.socketOption(.tcp_nodelay)` really sets (same number, wrong level).
            #expect(Self.option(socket.descriptor, level: SOL_SOCKET, name: SO_DEBUG) == 0, "SO_DEBUG on \(socket)")
        }
        await channel.close()
        try await server.stop()
    }
}
