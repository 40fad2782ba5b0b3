import Foundation
import GreyTestSupport
import Testing

@Suite("Generated protobuf-c code")
struct GeneratedCodeTests {
    @Test("the committed protobuf-c output matches what protoc-c makes of Protos/ now")
    func generatedCodeIsFresh() async throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("grey-protoc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: output) }
        let result = try await runProcess(
            "protoc-c", ["--c_out=\(output.path)", "-I.", "grey/v1/kv.proto", "grey/v1/cluster.proto"],
            currentDirectory: RepositoryPaths.root.appendingPathComponent("Protos"))
        try #require(result.status == 0, "protoc-c failed: \(result.output)")
        let target = RepositoryPaths.root.appendingPathComponent("Sources/GreyProto")
        for name in ["kv.pb-c", "cluster.pb-c"] {
            let freshSource = try Data(contentsOf: output.appendingPathComponent("grey/v1/\(name).c"))
            let freshHeader = try Data(contentsOf: output.appendingPathComponent("grey/v1/\(name).h"))
            let committedSource = try Data(contentsOf: target.appendingPathComponent("grey/v1/\(name).c"))
            let committedHeader = try Data(contentsOf: target.appendingPathComponent("include/grey/v1/\(name).h"))
            #expect(freshSource == committedSource, "\(name).c is stale: run `make proto` and commit")
            #expect(freshHeader == committedHeader, "\(name).h is stale: run `make proto` and commit")
        }
    }
}
