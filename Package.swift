// swift-tools-version: 6.0
import PackageDescription

#if canImport(Glibc)
    import Glibc
#endif

/// Whether the glibc building this loads packed relative relocations (DT_RELR, glibc 2.36: Debian 12, Ubuntu
/// 23.04). A binary linked with them names the version GLIBC_ABI_DT_RELR, which an older loader refuses.
let glibcLoadsPackedRelocations: Bool = {
    #if canImport(Glibc)
        var text = [CChar](repeating: 0, count: 64)
        guard confstr(Int32(_CS_GNU_LIBC_VERSION), &text, text.count) > 0 else { return false }
        let name = text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }  // "glibc 2.36"
        let version = (name.split(separator: " ").last ?? "").split(separator: ".").compactMap { Int($0) }
        return version.count >= 2 && (version[0], version[1]) >= (2, 36)
    #else
        return false
    #endif
}()

// Release links on Linux: lld with the functions the daemon runs placed first (link-order.txt, made by
// Benchmarks/link-order from a callgrind profile), relative relocations packed where glibc loads them, and no
// symbols exported from the executable. Each keeps pages of the binary out of the daemon's resident memory
// (README, Performance).
let releaseLinking: [LinkerSetting] = [
    .unsafeFlags(
        [
            "-use-ld=lld",
            "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/Sources/mico-auth-proxy/link-order.txt",
            "-Xlinker", "--no-warn-symbol-ordering",
            "-Xlinker", "--no-export-dynamic",
        ] + (glibcLoadsPackedRelocations ? ["-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"] : []),
        .when(platforms: [.linux], configuration: .release)
    )
]

// Nonisolated async functions run on their caller's executor (SE-0461): a connection's code stays on its IOLoop
// without the hop back after every call that Swift 6.0's rule made (README, Performance). Every target uses it,
// tests included: a test target without it crashed calling into MicoIO.
let swiftSettings: [SwiftSetting] = [.enableUpcomingFeature("NonisolatedNonsendingByDefault")]

let package = Package(
    name: "mico-auth-proxy",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "mico-auth-proxy", targets: ["mico-auth-proxy"]),
        .library(name: "MicoAuthProxy", targets: ["MicoAuthProxy"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // OpenSSL from Debian's libssl-dev, with shims for the macros Swift cannot import.
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        // Linux calls Swift cannot import (variadic prctl, accept4, SO_PEERCRED's struct ucred), and a thread-local
        // read buffer (C `__thread`).
        .target(name: "CMicoSystem"),
        // Pure HTTP/1.1 framing: bytes in, heads and body events out. No I/O, no clocks.
        .target(name: "MicoHTTP", swiftSettings: swiftSettings),
        // Sockets, listeners, Dispatch-driven readiness, TLS over OpenSSL.
        .target(name: "MicoIO", dependencies: ["COpenSSL", "CMicoSystem"], swiftSettings: swiftSettings),
        // Configuration, token, policy, forwarding, admin endpoints, the mock API.
        .target(
            name: "MicoAuthProxy",
            dependencies: [
                "MicoHTTP",
                "MicoIO",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "mico-auth-proxy",
            dependencies: [
                "MicoAuthProxy",
                "MicoIO",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["link-order.txt"],
            swiftSettings: swiftSettings,
            linkerSettings: releaseLinking
        ),
        // Test helpers shared by the test targets: certificates made with the openssl CLI, external processes.
        .target(name: "MicoTestSupport", path: "Tests/MicoTestSupport", swiftSettings: swiftSettings),
        .testTarget(
            name: "MicoHTTPTests", dependencies: ["MicoHTTP", "MicoTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "MicoIOTests", dependencies: ["MicoIO", "MicoTestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "MicoAuthProxyTests",
            dependencies: [
                "MicoAuthProxy", "MicoHTTP", "MicoIO", "MicoTestSupport", "mico-auth-proxy",
                // The metrics tests compare the proxy's histogram lines with the library's.
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
