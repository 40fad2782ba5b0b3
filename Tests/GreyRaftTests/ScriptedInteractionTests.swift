import Foundation
import GreyTestSupport
import Testing

@testable import GreyRaft

/// A script: commands with their expected output, blocks separated by blank lines.
struct InteractionScript: CustomStringConvertible {
    struct Block {
        var comments: [String]
        var command: String
        var expected: String
    }

    let name: String
    var blocks: [Block]
    var description: String { name }

    static let directory = RepositoryPaths.root.appendingPathComponent("Tests/GreyRaftTests/testdata")

    static func all() -> [InteractionScript] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return files.filter { $0.hasSuffix(".txt") }.sorted().map { load($0) }
    }

    static func load(_ name: String) -> InteractionScript {
        let text = (try? String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)) ?? ""
        var blocks: [Block] = []
        var comments: [String] = []
        var lines = text.components(separatedBy: "\n")[...]
        while let line = lines.popFirst() {
            if line.hasPrefix("#") { comments.append(line); continue }
            if line.trimmingCharacters(in: .whitespaces).isEmpty {
                if !comments.isEmpty && blocks.isEmpty == false { blocks[blocks.count - 1].comments.append(contentsOf: []) }
                if !comments.isEmpty { comments.append("") }
                continue
            }
            let command = line
            _ = lines.popFirst()  // ----
            var output: [String] = []
            while let next = lines.first, !next.isEmpty { output.append(next); lines.removeFirst() }
            blocks.append(Block(comments: comments, command: command, expected: output.joined(separator: "\n")))
            comments = []
        }
        return InteractionScript(name: name, blocks: blocks)
    }

    func rendered(outputs: [String]) -> String {
        zip(blocks, outputs).map { block, output in
            (block.comments.isEmpty ? "" : block.comments.joined(separator: "\n") + "\n") + "\(block.command)\n----\n\(output)\n"
        }.joined(separator: "\n")
    }
}

@Suite("Scripted interaction tests (Tests/GreyRaftTests/testdata)")
struct ScriptedInteractionTests {
    @Test("each script replays with the recorded output; GREY_REWRITE=1 re-records", arguments: InteractionScript.all())
    func replay(script: InteractionScript) throws {
        let driver = InteractionDriver()
        let outputs = script.blocks.map { driver.run($0.command) }
        if ProcessInfo.processInfo.environment["GREY_REWRITE"] != nil {
            try script.rendered(outputs: outputs).write(
                to: InteractionScript.directory.appendingPathComponent(script.name), atomically: true, encoding: .utf8)
            return
        }
        for (block, output) in zip(script.blocks, outputs) {
            #expect(output == block.expected, "\(script.name): `\(block.command)`")
        }
    }

    @Test("the scripts are there: a missing or emptied testdata folder fails instead of replaying nothing")
    func scriptsExist() {
        let names = InteractionScript.all().map(\.name)
        #expect(Set(names).isSuperset(of: ["figure8.txt", "forget-vote.txt", "membership.txt", "prevote.txt", "read-without-quorum.txt", "skip-log-check.txt", "transfer.txt"]), "found \(names)")
        #expect(InteractionScript.all().allSatisfy { !$0.blocks.isEmpty }, "an empty script replays nothing")
    }

    /// Each deliberately broken core variant with the script that exposes it every time (the
    /// simulation finds them too, but only in some seeds) and the verdict it must reach.
    static let scriptsThatCatch: [(script: String, broken: BrokenVariants, verdict: String)] = [
        ("figure8.txt", .commitOldTermByCount, "state machine safety violated at i2"),
        ("forget-vote.txt", .forgetVote, "election safety violated: n0 and n2 lead t1"),
        ("skip-log-check.txt", .skipLogUpToDateCheck, "state machine safety violated at i2"),
        ("read-without-quorum.txt", .readIndexWithoutQuorum, "stale read: n0 released read 7 at i1, but i3 was committed"),
    ]

    @Test("each broken core variant, replayed through the script made for it, ends in the violation it causes",
          arguments: scriptsThatCatch.indices)
    func scriptCatchesBrokenVariant(_ index: Int) {
        let (name, broken, verdict) = Self.scriptsThatCatch[index]
        let script = InteractionScript.load(name)
        #expect(script.blocks.last?.command == "check" && script.blocks.last?.expected == "safe",
                "\(name) ends in a check that the correct code passes")
        let driver = InteractionDriver(brokenVariants: broken)
        let outputs = script.blocks.map { driver.run($0.command) }
        #expect(outputs.last?.contains(verdict) == true, "\(name): \(outputs.last ?? "")")
    }
}
