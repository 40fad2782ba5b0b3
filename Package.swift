// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Grey",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "GreyWire", targets: ["GreyWire"]),
        .library(name: "GreyRPC", targets: ["GreyRPC"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
    ],
    targets: [
        // C shims: a module map and headers only.
        .systemLibrary(
            name: "CNghttp2", pkgConfig: "libnghttp2",
            providers: [.apt(["libnghttp2-dev"])]),
        // protoc-c output for Protos/, committed; `make proto` regenerates it.
        .target(
            name: "GreyProto",
            cSettings: [.headerSearchPath("include")],
            linkerSettings: [.linkedLibrary("protobuf-c")]),

        .target(name: "GreyWire", dependencies: ["GreyProto"]),
        .target(
            name: "GreyRPC",
            dependencies: [
                "GreyWire", "CNghttp2",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]),

        // Helpers shared by the test suites: repository paths, subprocesses, memory readings.
        .target(name: "GreyTestSupport", path: "Tests/GreyTestSupport"),
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
