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
        static let configuration = CommandConfiguration(
            abstract: "Print KEY's value; with --prefix, every key that starts with KEY and its value, one line each.")
        @OptionGroup var options: ClientOptions
        @Argument var key: String
        @Option(help: "linearizable, lease or stale (--prefix and --rev: linearizable or stale).") var consistency: String = "linearizable"
        @Flag(help: "Every key that starts with KEY, in key order (etcd's Range).") var prefix = false
        @Option(help: "With --prefix: at most this many keys (0: all).") var limit: Int64 = 0
        @Option(help: "Read as of this revision (etcd's Range; 0: the newest).") var rev: Int64 = 0

        func run() async throws {
            try await reporting {
                if prefix || rev != 0 {
                    try await KV.range(options, key, prefix: prefix, limit: limit, revision: rev, consistency: consistency)
                } else {
                    try await KV.get(options, key, consistency)
                }
            }
        }
    }

    /// A read through etcd's Range (same port, same store): prefixes and old revisions.
    static func range(_ options: ClientOptions, _ key: String, prefix: Bool, limit: Int64, revision: Int64, consistency: String) async throws {
        guard consistency == "linearizable" || consistency == "stale" else {
            throw ValidationError("--prefix and --rev reads are linearizable or stale")
        }
        guard limit >= 0, revision >= 0 else { throw ValidationError("--limit and --rev must not be negative") }
        let start = Array(key.utf8)
        let request = Etcd.RangeRequest(
            key: start.isEmpty && prefix ? [0] : start, rangeEnd: prefix ? prefixEnd(start) : [], limit: prefix ? limit : 0,
            revision: revision, serializable: consistency == "stale")
        let response = try await options.call(EtcdKVMethods.range, request)
        let text = { (bytes: [UInt8]) in String(decoding: bytes, as: UTF8.self) }
        if options.output == .json {
            printJSON([
                "revision": response.header?.revision ?? 0, "count": response.count, "more": response.more,
                "kvs": response.kvs.map { kv -> [String: Any] in
                    ["key": text(kv.key), "value": text(kv.value), "create_revision": kv.createRevision,
                     "mod_revision": kv.modRevision, "version": kv.version]
                },
            ])
        } else if prefix {
            for kv in response.kvs { print("\(text(kv.key)) \(text(kv.value))") }
            if response.more { print("... \(response.count - Int64(response.kvs.count)) more (raise --limit)") }
        } else if let kv = response.kvs.first {
            print(text(kv.value))
        } else {
            throw CLIError(GRPCStatus(.notFound, "key not found at revision \(revision): \(key)"))
        }
    }

    /// The end of the range of keys that start with `prefix` (etcd's convention): the prefix with
    /// its last byte below 0xFF raised by one; "\0" (every key from the start on) when there is none.
    static func prefixEnd(_ prefix: [UInt8]) -> [UInt8] {
        var end = prefix
        while let last = end.last {
            if last < 0xFF {
                end[end.count - 1] = last + 1
                return end
            }
            end.removeLast()
        }
        return [0]
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
