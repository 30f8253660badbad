// swift-tools-version:6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "spool",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "spool", targets: ["spool"]),
        .library(name: "SpoolServer", targets: ["SpoolServer"]),
        .library(name: "SpoolTesting", targets: ["SpoolTesting"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
    ],
    targets: [
        .target(
            name: "SpoolModel",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SpoolStorage",
            dependencies: ["SpoolModel"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SpoolSQLite",
            dependencies: [
                "SpoolModel", "SpoolStorage",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.embedInCode("Migrations")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SpoolEngine",
            dependencies: [
                "SpoolModel", "SpoolStorage",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SpoolHTTP",
            dependencies: [
                "SpoolModel", "SpoolStorage", "SpoolEngine",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SpoolServer",
            dependencies: [
                "SpoolModel", "SpoolStorage", "SpoolSQLite", "SpoolEngine", "SpoolHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "spool",
            dependencies: [
                "SpoolServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SpoolTesting",
            dependencies: ["SpoolModel", "SpoolStorage"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SpoolModelTests",
            dependencies: ["SpoolModel"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SpoolSQLiteTests",
            dependencies: ["SpoolSQLite", "SpoolTesting", "SpoolModel", "SpoolStorage",
                           .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SpoolEngineTests",
            dependencies: ["SpoolEngine", "SpoolSQLite", "SpoolStorage", "SpoolModel", "SpoolTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SpoolHTTPTests",
            dependencies: [
                "SpoolServer", "SpoolHTTP", "SpoolSQLite", "SpoolTesting",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
