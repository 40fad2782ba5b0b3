import Foundation
import GreyRPC
import GreyTestSupport
import GreyWire
import Testing

/// A crash can leave the end of RocksDB's write-ahead log torn: an unsynced record half
/// written, zeros where the file was extended, or a whole record whose checksum does not
/// match. A node must start after each and still hold every write it acknowledged.
@Suite("torn WAL tails", .serialized)
struct TornWALTests {
    /// The tails a crash can leave, appended to the newest WAL file after a kill -9.
    static let tails: [(name: String, bytes: [UInt8])] = [
        // A complete record header (checksum, length 10, type FULL) with a checksum that does
        // not match its 10 bytes: refused by the tolerate-tail mode as well as by absolute consistency.
        ("a whole record with a bad checksum", [0xEF, 0xBE, 0xAD, 0xDE, 0x0A, 0x00, 0x01] + Array("abcdefghij".utf8)),
        ("zeros", [UInt8](repeating: 0, count: 3_000)),
        // A header that promises 0x4000 bytes followed by three: a record cut off mid-body.
        ("a record cut off mid-body", [0x12, 0x34, 0x56, 0x78, 0x00, 0x40, 0x01] + Array("abc".utf8)),
    ]

    /// The write-ahead log RocksDB writes to now: the highest-numbered `*.log` file.
    static func newestWAL(in directory: String) throws -> String {
        let logs = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".log") && $0.first?.isNumber == true }
        let newest = try #require(logs.max { Int($0.dropLast(4)) ?? 0 < Int($1.dropLast(4)) ?? 0 }, "no WAL file in \(directory)")
        return directory + "/" + newest
    }

    /// Writes `count` keys with the prefix through a one-node greyd; returns how many were acknowledged.
    static func write(_ prefix: String, count: Int, to channel: GRPCChannel) async throws -> Int {
        var acknowledged = 0
        for index in 0..<(count * 3) where acknowledged < count {
            let put = PutRequest(key: Array("\(prefix)-\(acknowledged)".utf8), value: Array("value-\(prefix)-\(acknowledged)".utf8))
            if (try? await channel.call(KVMethods.put, put, timeout: .seconds(2))) != nil {
                acknowledged += 1
            } else if index > count {
                try await Task.sleep(for: .milliseconds(50))  // still electing itself after a start
            }
        }
        return acknowledged
    }

    @Test("after kill -9 and a torn tail appended to the newest WAL, the node starts and serves every acknowledged write")
    func tornTails() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("grey-torn-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let port = TestPorts.reserve()
        var written: [String] = []
        for (round, tail) in Self.tails.enumerated() {
            let node = try GreydCluster.startAlone(id: 3, port: port, directory: directory)
            let channel = try GreydCluster.channel(port: port)
            // Every earlier round's writes survived the tail before this one.
            for (index, prefix) in written.enumerated() {
                for key in 0..<50 {
                    let got = try? await Self.readWithRetry(Array("\(prefix)-\(key)".utf8), from: channel, patient: index == 0 && key == 0)
                    #expect(got == Array("value-\(prefix)-\(key)".utf8), "after \(Self.tails[round - 1].name): \(prefix)-\(key) is \(String(describing: got))")
                }
            }
            let prefix = "round\(round)"
            #expect(try await Self.write(prefix, count: 50, to: channel) == 50, "node did not take writes before the \(tail.name) round")
            written.append(prefix)
            await channel.close()
            kill(node.processIdentifier, SIGKILL)
            node.waitUntilExit()
            let wal = try Self.newestWAL(in: directory)
            let handle = try #require(FileHandle(forWritingAtPath: wal))
            handle.seekToEndOfFile()
            handle.write(Data(tail.bytes))
            try handle.close()
        }
        // The last tail: start once more and read everything.
        let node = try GreydCluster.startAlone(id: 3, port: port, directory: directory)
        defer {
            node.terminate()
            node.waitUntilExit()
        }
        let channel = try GreydCluster.channel(port: port)
        for (index, prefix) in written.enumerated() {
            for key in 0..<50 {
                let got = try? await Self.readWithRetry(Array("\(prefix)-\(key)".utf8), from: channel, patient: index == 0 && key == 0)
                #expect(got == Array("value-\(prefix)-\(key)".utf8), "after \(Self.tails.last!.name): \(prefix)-\(key) is \(String(describing: got))")
            }
        }
        #expect(node.isRunning, "greyd exited on a torn WAL tail")
        await channel.close()
    }

    /// A linearizable read; the first one after a start waits (up to 10 s) for the node to be
    /// up and leading, which also catches a node that refused to start.
    static func readWithRetry(_ key: [UInt8], from channel: GRPCChannel, patient: Bool) async throws -> [UInt8]? {
        let deadline = ContinuousClock.now + (patient ? .seconds(10) : .seconds(2))
        while true {
            do {
                let got = try await channel.call(KVMethods.get, GetRequest(key: key), timeout: .seconds(1))
                return got.found ? got.value : nil
            } catch {
                if ContinuousClock.now > deadline { throw error }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }
}
