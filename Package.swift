// swift-tools-version: 6.1
import PackageDescription

/// libFuzzer targets, each Sources/VigilFuzzTargets/NAME/Entry.swift, product fuzz-NAME (scripts/libfuzz.sh).
let libFuzzTargets = ["san-packet", "san-notation", "failover", "adapter", "script", "pcap"]

let package = Package(
    name: "Vigil",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "vigil", targets: ["vigil"]),
        .executable(name: "refnode", targets: ["refnode"]),
        .library(name: "VigilCore", targets: ["VigilCore"]),
        .library(name: "VigilSAN", targets: ["VigilSAN"]),
        .library(name: "VigilFailover", targets: ["VigilFailover"]),
        .library(name: "VigilAdapters", targets: ["VigilAdapters"]),
    ] + libFuzzTargets.map { .executable(name: "fuzz-\($0)", targets: ["fuzz-\($0)"]) },
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
    ],
    targets: [
        // Engine: rules, citations, catalogs, virtual time. Knows no protocol.
        .target(name: "VigilCore"),
        // US 6,545,981: wire codec, rule catalog, responder and requestor models.
        .target(name: "VigilSAN", dependencies: ["VigilCore"]),
        // US 6,119,244: wire codec, rule catalog, node model, pair simulation.
        .target(name: "VigilFailover", dependencies: ["VigilCore"]),
        // The wire adapter protocol (specs/adapter.md): frames, and the ways to reach an IUT.
        .target(name: "VigilAdapters", dependencies: ["VigilCore"]),
        // The conformance runner: role oracles built on the models, suites, reports.
        .target(name: "VigilConformance", dependencies: ["VigilCore", "VigilSAN", "VigilFailover", "VigilAdapters", "RefNodeCore"]),
        // Fuzz campaigns: generators, mutators, coverage, the shrinker.
        .target(name: "VigilFuzz", dependencies: ["VigilCore", "VigilSAN", "VigilConformance", "VigilAdapters"]),
        // The system libpcap (Debian package libpcap-dev), for the pcap evidence writer and reader.
        .systemLibrary(name: "CPcap", pkgConfig: "libpcap", providers: [.apt(["libpcap-dev"])]),
        // Evidence: pcap captures of a run (DLT_USER0 with the pseudo-header of specs/pcap.md), through libpcap.
        .target(name: "VigilEvidence", dependencies: ["VigilCore", "VigilSAN", "VigilFailover", "CPcap"]),
        // The sample implementation under test, in C, sharing no code with the Swift models: its protocol
        // core (a library with a function-call interface) and a stdio/UDP front end speaking specs/adapter.md.
        .target(name: "RefNodeCore"),
        .executableTarget(name: "refnode", dependencies: ["RefNodeCore"]),
        .executableTarget(
            name: "vigil",
            dependencies: [
                "VigilCore", "VigilSAN", "VigilFailover", "VigilAdapters", "VigilConformance", "VigilFuzz", "VigilEvidence",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "VigilCoreTests", dependencies: ["VigilCore"]),
        .testTarget(
            name: "VigilSANTests",
            dependencies: [
                "VigilSAN", "VigilCore",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "VigilFailoverTests",
            dependencies: [
                "VigilFailover", "VigilCore",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "VigilCLITests", dependencies: ["vigil", "refnode", "VigilCore", "VigilSAN", "VigilFailover"],
            exclude: ["golden"]
        ),
        .testTarget(name: "RefNodeTests", dependencies: ["RefNodeCore"]),
        .testTarget(name: "VigilAdaptersTests", dependencies: ["VigilAdapters", "VigilCore"]),
        .testTarget(name: "VigilEvidenceTests", dependencies: ["VigilEvidence", "VigilSAN", "VigilFailover", "VigilCore"]),
        .testTarget(name: "VigilFuzzTests", dependencies: ["VigilFuzz", "VigilConformance", "VigilAdapters", "VigilCore", "VigilEvidence"]),
        .testTarget(
            name: "VigilConformanceTests", dependencies: ["VigilConformance", "VigilAdapters", "VigilSAN", "VigilCore", "refnode"],
            exclude: ["Fixtures"]
        ),
        // libFuzzer targets of the kit's own decoders (scripts/libfuzz.sh, README "Fuzzing the decoders with
        // libFuzzer"): the shared harness, and one executable per target whose only source defines
        // LLVMFuzzerTestOneInput. Built with -DVIGIL_LIBFUZZER libFuzzer supplies main; otherwise each is a
        // plain program that replays inputs, so an ordinary build links them like any executable.
        .target(
            name: "VigilFuzzHarness", dependencies: ["VigilCore", "VigilSAN", "VigilFailover", "VigilAdapters", "VigilEvidence"],
            path: "Sources/VigilFuzzTargets/Harness"
        ),
    ] + libFuzzTargets.map {
        .executableTarget(name: "fuzz-\($0)", dependencies: ["VigilFuzzHarness"], path: "Sources/VigilFuzzTargets/\($0)")
    },
    swiftLanguageModes: [.v6],
    cLanguageStandard: .c11
)
