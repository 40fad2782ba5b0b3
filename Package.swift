// swift-tools-version:6.1
import PackageDescription

import class Foundation.ProcessInfo

// A deliberately broken GreyNode for the chaos test to catch (`make chaos-broken`), chosen at
// build time with GREY_BROKEN: follower-reads (followers answer linearizable reads from their
// own state), early-ack (puts acknowledged before a majority has them) or vote-any-log (votes
// granted without checking that the candidate's log is up to date); or a broken GreyMVCC:
// txn-split (each write of a Txn takes its own revision, so a read between them sees half of it).
let greyNodeSettings: [SwiftSetting] = {
    switch ProcessInfo.processInfo.environment["GREY_BROKEN"] {
    case "follower-reads": [.define("GREY_BROKEN_FOLLOWER_READS")]
    case "early-ack": [.define("GREY_BROKEN_EARLY_ACK")]
    case "vote-any-log": [.define("GREY_BROKEN_VOTE_ANY_LOG")]
    default: []
    }
}()
let greyMVCCSettings: [SwiftSetting] = ProcessInfo.processInfo.environment["GREY_BROKEN"] == "txn-split" ? [.define("GREY_BROKEN_TXN_SPLIT")] : []

let package = Package(
    name: "Grey",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "GreyWire", targets: ["GreyWire"]),
        .library(name: "GreyRPC", targets: ["GreyRPC"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.3.0"),
        .package(url: "https://github.com/swift-otel/swift-w3c-trace-context.git", from: "1.0.0"),
        // OTLP/HTTP only: the default traits also build grpc-swift (minutes per clean build).
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        // C shims: a module map and headers only.
        .systemLibrary(
            name: "CNghttp2", pkgConfig: "libnghttp2",
            providers: [.apt(["libnghttp2-dev"])]),
        .systemLibrary(
            name: "CRocksDB", pkgConfig: "rocksdb",
            providers: [.apt(["librocksdb-dev"])]),
        // jemalloc, greyd's allocator (cmd/greyd/Allocator.swift says why).
        .systemLibrary(
            name: "CJemalloc", pkgConfig: "jemalloc",
            providers: [.apt(["libjemalloc-dev"])]),
        // protoc-c output for Protos/, committed; `make proto` regenerates it.
        .target(
            name: "GreyProto",
            cSettings: [.headerSearchPath("include")],
            linkerSettings: [.linkedLibrary("protobuf-c")]),

        // The Raft core: pure and deterministic, no I/O, clocks or global randomness.
        .target(name: "GreyRaft"),
        // Seeded whole-cluster simulation of GreyRaft with faults and safety checkers.
        .target(name: "GreyRaftSim", dependencies: ["GreyRaft"]),
        .executableTarget(name: "grey-sim", dependencies: ["GreyRaftSim"], path: "cmd/grey-sim"),
        .executableTarget(
            name: "greyd",
            dependencies: [
                "CJemalloc", "GreyNode", "GreyMVCC", "GreyRPC", "GreyRaft", "GreyStorage", "GreyTelemetry", "GreyWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ],
            path: "cmd/greyd"),
        .executableTarget(
            name: "greyctl",
            dependencies: [
                "GreyRPC", "GreyWire", "GreyRaft", "GreyStorage", "GreyMVCC", "GreyTelemetry",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "W3CTraceContext", package: "swift-w3c-trace-context"),
            ],
            path: "cmd/greyctl"),
        .executableTarget(
            name: "cluster-demo",
            dependencies: ["GreyLocalCluster", "GreyRPC", "GreyWire", "GreyRaft", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "cmd/cluster-demo"),
        .executableTarget(
            name: "cluster-cli",
            dependencies: ["GreyLocalCluster", "GreyRPC", "GreyWire", "GreyRaft"],
            path: "cmd/cluster-cli"),
        // Real nodes in one process with cuttable links, for cluster-demo and cluster-cli.
        .target(
            name: "GreyLocalCluster",
            dependencies: [
                "GreyNode", "GreyRPC", "GreyRaft", "GreyStorage", "GreyWire",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]),
        .target(name: "GreyWire", dependencies: ["GreyProto"]),
        // OpenTelemetry export (OTLP/HTTP) for greyd and greyctl; the code that makes spans
        // uses only swift-distributed-tracing's API.
        .target(
            name: "GreyTelemetry",
            dependencies: [
                "GreyWire",
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        // Durable state on RocksDB: the Raft log, hard state and the state machine.
        .target(name: "GreyStorage", dependencies: ["CRocksDB", "GreyRaft", "GreyWire"]),
        // The state machine: an etcd-style MVCC key-value store (revisions, history, Txn) in RocksDB.
        .target(name: "GreyMVCC", dependencies: ["GreyStorage", "GreyRaft", "GreyWire"], swiftSettings: greyMVCCSettings),
        .target(
            name: "GreyRPC",
            dependencies: [
                "GreyWire", "CNghttp2",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]),

        // Helpers shared by the test suites: repository paths, subprocesses, memory readings.
        .target(name: "GreyTestSupport", path: "Tests/GreyTestSupport"),
        // The runtime: drives a Raft core with a clock, the RPC transport and storage.
        .target(
            name: "GreyNode",
            dependencies: [
                "GreyRaft", "GreyStorage", "GreyMVCC", "GreyRPC", "GreyWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: greyNodeSettings),
        .testTarget(name: "GreyRaftTests", dependencies: ["GreyRaft", "GreyRaftSim", "GreyTestSupport"], exclude: ["testdata"]),
        .testTarget(
            name: "GreyNodeTests",
            dependencies: [
                "GreyRPC", "GreyWire", "GreyRaft", "GreyLocalCluster", "GreyTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]),
        .testTarget(name: "GreyMVCCTests", dependencies: ["GreyMVCC", "GreyStorage", "GreyRaft", "GreyWire"]),
        .testTarget(name: "GreyStorageTests", dependencies: ["GreyStorage", "GreyRaft", "GreyTestSupport"]),
        .testTarget(name: "GreyWireTests", dependencies: ["GreyWire", "GreyProto", "GreyTestSupport"]),
        .testTarget(
            name: "GreyRPCTests",
            dependencies: [
                "GreyRPC", "GreyWire", "CNghttp2", "GreyTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]),
    ]
)

// Micro-benchmarks (ordo-one/package-benchmark) are declared only when GREY_BENCHMARKS is set,
// so the default build and `make test` never fetch or compile the benchmark toolchain.
// Run them with `make bench-micro`.
if ProcessInfo.processInfo.environment["GREY_BENCHMARKS"] != nil {
    package.dependencies.append(
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.0", traits: ["MallocInterposer"]))
    package.targets.append(
        .executableTarget(
            name: "GreyBenchmarks",
            dependencies: [
                "GreyWire", "GreyRPC",
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/GreyBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]))
}

// libFuzzer targets (`make fuzz`), declared only when GREY_FUZZ is set: they are built with
// `--sanitize=fuzzer --sanitize=address` into .build-fuzz, never in the default build.
if ProcessInfo.processInfo.environment["GREY_FUZZ"] != nil {
    package.targets += [
        .executableTarget(name: "FuzzMessages", dependencies: ["GreyWire"], path: "Fuzz/FuzzMessages"),
        .executableTarget(name: "FuzzFraming", dependencies: ["GreyWire"], path: "Fuzz/FuzzFraming"),
        .executableTarget(name: "FuzzSnapshot", dependencies: ["GreyStorage"], path: "Fuzz/FuzzSnapshot"),
        .executableTarget(
            name: "FuzzServer",
            dependencies: [
                "GreyRPC", "GreyWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            path: "Fuzz/FuzzServer"),
    ]
}
