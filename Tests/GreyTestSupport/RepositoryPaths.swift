import Dispatch
import Foundation

/// Paths inside the repository, found from this file's location so tests run from anywhere.
public enum RepositoryPaths {
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    public static let vectors = root.appendingPathComponent("data/vectors")
    public static let tools = root.appendingPathComponent("tools")
}

/// Runs a program to completion (feeding it `input` on stdin, if given) and returns its exit
/// status and combined output.
public func runProcess(_ executable: String, _ arguments: [String], currentDirectory: URL? = nil, input: String? = nil) async throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [executable] + arguments
    if let currentDirectory { process.currentDirectoryURL = currentDirectory }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    let stdin = Pipe()
    process.standardInput = input == nil ? FileHandle.nullDevice : stdin
    try process.run()
    if let input {
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
    }
    // Block a Dispatch thread, not one of the (two, on this machine) cooperative-pool threads
    // that the server under test needs to answer the very process we are waiting for.
    return await withCheckedContinuation { continuation in
        DispatchQueue.global().async {
            let output = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            continuation.resume(returning: (process.terminationStatus, String(decoding: output, as: UTF8.self)))
        }
    }
}

/// The process's resident set size, from /proc/self/statm.
public func residentBytes() -> Int {
    // No reading, no test: a memory bound checked against 0 would pass whatever happened.
    guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
        let pages = statm.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
    else { preconditionFailure("cannot read /proc/self/statm: resident memory cannot be measured here") }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}
