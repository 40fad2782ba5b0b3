import Foundation
import GreyRPC
import Testing

/// Plain HTTP/1.1 on the gRPC port: the routes curl and Prometheus use.
@Suite("HTTP/1.1 side door")
struct SideDoorTests {
    private func request(_ server: TestServer, _ text: String) async throws -> RawConnection.Outcome {
        try await RawConnection.exchange(port: server.port, [Array(text.utf8)])
    }

    @Test("GET /health answers 200 on the same port as gRPC")
    func health() async throws {
        let server = try await TestServer.start()
        let outcome = try await request(server, "GET /health HTTP/1.1\r\nHost: grey\r\nConnection: close\r\n\r\n")
        #expect(outcome.text.hasPrefix("HTTP/1.1 200 OK"))
        #expect(outcome.text.hasSuffix("\r\n\r\nok\n"))
        try await server.stop()
    }

    @Test("POST /put then GET /get?key= reads the value back; /status is JSON")
    func putGetStatus() async throws {
        let server = try await TestServer.start()
        let body = #"{"key":"greeting","value":"hello world"}"#
        let put = try await request(
            server, "POST /put HTTP/1.1\r\nHost: grey\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
        #expect(put.text.hasPrefix("HTTP/1.1 200"), "\(put.text)")
        let get = try await request(server, "GET /get?key=gree%74ing&consistency=stale HTTP/1.1\r\nHost: grey\r\nConnection: close\r\n\r\n")
        #expect(get.text.hasSuffix("\r\n\r\nhello world"), "\(get.text)")
        let status = try await request(server, "GET /status HTTP/1.1\r\nHost: grey\r\nConnection: close\r\n\r\n")
        let json = try #require(status.text.components(separatedBy: "\r\n\r\n").last)
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        #expect(object?["node_id"] as? Int == 4)
        #expect(object?["applied_index"] as? Int == 1)
        try await server.stop()
    }

    @Test("keep-alive connections answer several requests in order")
    func keepAlive() async throws {
        let server = try await TestServer.start()
        let two = "GET /health HTTP/1.1\r\nHost: grey\r\n\r\nGET /nowhere HTTP/1.1\r\nHost: grey\r\nConnection: close\r\n\r\n"
        let outcome = try await request(server, two)
        let statuses = outcome.text.components(separatedBy: .newlines).filter { $0.hasPrefix("HTTP/1.1 ") }
        #expect(statuses == ["HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found"], "\(outcome.text)")
        try await server.stop()
    }

    @Test("a body over the limit gets 413 and nothing is stored")
    func oversizedBody() async throws {
        let server = try await TestServer.start { $0.maxMessageBytes = 1024 }
        let body = #"{"key":"k","value":""# + String(repeating: "v", count: 2000) + #""}"#
        let outcome = try await request(
            server, "POST /put HTTP/1.1\r\nHost: grey\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
        #expect(outcome.text.hasPrefix("HTTP/1.1 413"), "\(outcome.text.prefix(60))")
        #expect(await server.store.get(Array("k".utf8)) == nil)
        try await server.stop()
    }
}
