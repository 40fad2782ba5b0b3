import ArgumentParser
import GreyRPC
import GreyWire

/// `consensus write|read`: the walkthrough's names for a put and a linearizable get.
struct Consensus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write and read through consensus.", subcommands: [Write.self, Read.self])

    struct Write: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write KEY=VALUE; returns once a majority has it on disk.")
        @OptionGroup var options: ClientOptions
        @Argument var key: String
        @Argument var value: String

        func run() async throws {
            try await reporting { try await KV.put(options, key, value) }
        }
    }

    struct Read: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Read KEY.")
        @OptionGroup var options: ClientOptions
        @Argument var key: String
        @Option(help: "linearizable, lease or stale.") var consistency: String = "linearizable"

        func run() async throws {
            try await reporting { try await KV.get(options, key, consistency) }
        }
    }
}

struct KV: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kv", abstract: "Key-value operations.", subcommands: [Put.self, Get.self, Delete.self, Cas.self])

    static func put(_ options: ClientOptions, _ key: String, _ value: String) async throws {
        let response = try await options.call(KVMethods.put, PutRequest(key: Array(key.utf8), value: Array(value.utf8)))
        if options.output == .json {
            printJSON(["ok": true, "applied_index": response.header?.appliedIndex ?? 0, "leader_id": response.header?.leaderID ?? 0])
        } else {
            print("OK")
        }
    }

    static func get(_ options: ClientOptions, _ key: String, _ consistency: String) async throws {
        let level: ReadConsistency
        switch consistency {
        case "linearizable": level = .linearizable
        case "lease": level = .lease
        case "stale": level = .stale
        default: throw ValidationError("consistency must be linearizable, lease or stale")
        }
        let response = try await options.call(KVMethods.get, GetRequest(key: Array(key.utf8), consistency: level))
        if options.output == .json {
            printJSON(["key": key, "found": response.found, "value": String(decoding: response.value, as: UTF8.self)])
        } else if response.found {
            print(String(decoding: response.value, as: UTF8.self))
        } else {
            throw CLIError(GRPCStatus(.notFound, "key not found: \(key)"))
        }
    }

    struct Put: AsyncParsableCommand {
        @OptionGroup var options: ClientOptions
        @Argument var key: String
        @Argument var value: String
        func run() async throws { try await reporting { try await KV.put(options, key, value) } }
    }

    struct Get: AsyncParsableCommand {
        @OptionGroup var options: ClientOptions
        @Argument var key: String
        @Option(help: "linearizable, lease or stale.") var consistency: String = "linearizable"
        func run() async throws { try await reporting { try await KV.get(options, key, consistency) } }
    }

    struct Delete: AsyncParsableCommand {
        @OptionGroup var options: ClientOptions
        @Argument var key: String
        func run() async throws {
            try await reporting {
                let response = try await options.call(KVMethods.delete, DeleteRequest(key: Array(key.utf8)))
                if options.output == .json { printJSON(["deleted": response.deleted]) } else { print(response.deleted ? "deleted" : "not found") }
            }
        }
    }

    struct Cas: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set KEY to NEW if it holds EXPECTED (or, with --absent, if it does not exist).")
        @OptionGroup var options: ClientOptions
        @Argument var key: String
        @Argument(help: "The value the key must hold (omit with --absent).") var values: [String]
        @Flag(help: "Swap only if the key does not exist.") var absent = false

        func run() async throws {
            try await reporting {
                guard values.count == (absent ? 1 : 2) else {
                    throw ValidationError(absent ? "usage: kv cas KEY NEW --absent" : "usage: kv cas KEY EXPECTED NEW")
                }
                let request = CompareAndSwapRequest(
                    key: Array(key.utf8), expectedValue: absent ? [] : Array(values[0].utf8), expectAbsent: absent,
                    newValue: Array(values.last!.utf8))
                let response = try await options.call(KVMethods.compareAndSwap, request)
                let current = response.currentFound ? String(decoding: response.currentValue, as: UTF8.self) : nil
                if options.output == .json {
                    printJSON(["succeeded": response.succeeded, "current": current as Any])
                } else {
                    print(response.succeeded ? "swapped" : "not swapped (current: \(current ?? "absent"))")
                }
                if !response.succeeded { throw ExitCode(3) }
            }
        }
    }
}
