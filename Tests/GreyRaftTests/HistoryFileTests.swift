import Foundation
import GreyRaftSim
import Testing

@Suite("Recorded histories (the chaos test's JSON lines)")
struct HistoryFileTests {
    static func write(_ lines: [String]) throws -> String {
        let path = NSTemporaryDirectory() + "grey-history-\(UUID().uuidString).jsonl"
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("every operation kind reads back as the checker's operation, open writes included")
    func readsEveryKind() throws {
        let path = try Self.write([
            #"{"id":1,"client":0,"op":"put","key":"k","value":"0.1","invoked":10,"completed":20,"result":"written"}"#,
            #"{"id":2,"client":1,"op":"get","key":"k","consistency":"lease","invoked":30,"completed":40,"result":{"value":"0.1"}}"#,
            #"{"id":3,"client":2,"op":"cas","key":"k","expected":null,"new":"2.1","invoked":50,"completed":60,"result":{"succeeded":false,"current":"0.1"}}"#,
            #"{"id":4,"client":0,"op":"delete","key":"k","invoked":70,"completed":null,"result":null}"#,
        ])
        defer { try? FileManager.default.removeItem(atPath: path) }
        let history = try HistoryFile.load(path)
        #expect(history.map(\.operation) == [
            .put(key: "k", value: "0.1"), .get(key: "k", consistency: .lease),
            .cas(key: "k", expected: nil, new: "2.1"), .delete(key: "k"),
        ])
        #expect(history[2].result == .swapped(succeeded: false, current: "0.1"))
        #expect(history[3].completedAt == nil && history[3].result == nil)
        #expect(LinearizabilityChecker.check(history) == nil)
    }

    @Test("a stale read in a recorded history is caught")
    func staleReadCaught() throws {
        let path = try Self.write([
            #"{"id":1,"client":0,"op":"put","key":"k","value":"0.1","invoked":10,"completed":20,"result":"written"}"#,
            #"{"id":2,"client":1,"op":"get","key":"k","invoked":30,"completed":40,"result":{"value":null}}"#,
        ])
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(LinearizabilityChecker.check(try HistoryFile.load(path))?.key == "k")
    }

    @Test("a malformed line is refused with its line number")
    func malformedLine() throws {
        let path = try Self.write([
            #"{"id":1,"client":0,"op":"put","key":"k","value":"0.1","invoked":10,"completed":20,"result":"written"}"#,
            #"{"id":2,"client":1,"op":"swap","key":"k","invoked":30}"#,
        ])
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: HistoryFile.FormatError.self) { try HistoryFile.load(path) }
        do {
            _ = try HistoryFile.load(path)
        } catch {
            #expect("\(error)".contains(":2: unknown op 'swap'"))
        }
    }
}
