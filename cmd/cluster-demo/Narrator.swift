import Foundation

/// Prints the demo's story and keeps score of its checks.
final class Narrator: @unchecked Sendable {
    // @unchecked Sendable: used from one task at a time (the scenarios run in sequence).
    private(set) var passed = 0
    private(set) var failed = 0
    private var chapter = 0

    func section(_ title: String) {
        chapter += 1
        write("\n== \(chapter). \(title)")
    }

    func say(_ line: String) {
        write("   \(line)")
    }

    /// Records a check; the line says what held (✓) or what did not (✗).
    @discardableResult
    func check(_ holds: Bool, _ line: String) -> Bool {
        if holds { passed += 1 } else { failed += 1 }
        write(" \(holds ? "✓" : "✗") \(line)")
        return holds
    }

    func fail(_ line: String) {
        check(false, line)
    }

    /// Unbuffered, so a watcher (or a log) sees each step as it happens.
    private func write(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
