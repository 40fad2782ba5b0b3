import Foundation
import GreyTestSupport
import GreyWire
import Testing

@Suite("Golden wire vectors shared with Python protobuf")
struct WireVectorTests {
    @Test("Swift decodes what Python protobuf encoded", arguments: WireVectorSamples.all)
    func decodesPythonEncoding(sample: WireSample) throws {
        let bytes = try [UInt8](Data(contentsOf: RepositoryPaths.vectors.appendingPathComponent(sample.name + ".bin")))
        #expect(try sample.matches(bytes), "data/vectors/\(sample.name).bin decodes to a different message")
    }

    @Test("every committed vector has a Swift sample, so none goes unchecked")
    func everyVectorIsChecked() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: RepositoryPaths.vectors.path)
            .filter { $0.hasSuffix(".bin") }.map { String($0.dropLast(4)) }
        #expect(Set(files) == Set(WireVectorSamples.all.map(\.name)))
    }

    @Test("Python protobuf decodes what Swift encoded")
    func pythonDecodesSwiftEncoding() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("grey-vectors-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for sample in WireVectorSamples.all {
            try Data(sample.encoded()).write(to: directory.appendingPathComponent(sample.name + ".bin"))
        }
        let result = try await runProcess("python3", [RepositoryPaths.tools.appendingPathComponent("wire_vectors.py").path, "check", directory.path])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("\(WireVectorSamples.all.count) passed, 0 failed"))
    }

    @Test("today's Python encoding of every sample equals its committed golden (goldens are append-only)")
    func goldensUnchanged() async throws {
        let result = try await runProcess("python3", [RepositoryPaths.tools.appendingPathComponent("wire_vectors.py").path, "verify", RepositoryPaths.vectors.path])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("\(WireVectorSamples.all.count) passed, 0 failed"), "\(result.output)")
    }

    @Test("a vector with one byte changed no longer matches (the check can fail)")
    func corruptedVectorIsCaught() throws {
        var bytes = try [UInt8](Data(contentsOf: RepositoryPaths.vectors.appendingPathComponent("status_response.bin")))
        // Byte 1 is node_id's value (field 1, varint): 1 becomes 3.
        bytes[1] ^= 0x02
        let sample = try #require(WireVectorSamples.all.first { $0.name == "status_response" })
        #expect(try sample.matches(bytes) == false)
    }
}
