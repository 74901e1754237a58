// swift-tools-version:6.0
// angio: quantitative angiography (QCA) from X-ray angiography DICOM files.
// Data flows one way; one module per stage:
//   DicomShim (C++ over DCMTK + OpenJPEG) -> AngioDICOM -> VesselCore (pure Swift)
//   -> QCA (pure Swift) -> AngioReport (PNGShim over libpng) -> AngioPipeline -> angio CLI
// AngioPhantom renders synthetic angiograms of known geometry (pure Swift).
import PackageDescription

// Debian 12's dcmtk.pc is broken (it requires sndfile.pc), so DCMTK is linked by name.
let dcmtkLibraries: [LinkerSetting] = [
    "dcmjpls", "dcmjpeg", "dcmimage", "dcmimgle", "dcmdata", "oflog", "ofstd",
    "openjp2",
].map { .linkedLibrary($0) }

let package = Package(
    name: "angio",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "angio", targets: ["angio"]),
        .executable(name: "angio-bench", targets: ["angio-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // C++17 shim: the only code that sees DCMTK or OpenJPEG. C header, `angio_dcm_` prefix.
        .target(
            name: "DicomShim",
            path: "Sources/DicomShim",
            cxxSettings: [.define("HAVE_CONFIG_H", to: "1")],
            linkerSettings: dcmtkLibraries
        ),
        // C shim over libpng's simplified png_image API. `angio_png_` prefix.
        .target(
            name: "PNGShim",
            path: "Sources/PNGShim",
            linkerSettings: [.linkedLibrary("png")]
        ),
        .target(name: "AngioDICOM", dependencies: ["DicomShim"]),
        .target(name: "VesselCore"),
        .target(name: "QCA", dependencies: ["VesselCore"]),
        .target(name: "AngioPhantom", dependencies: ["VesselCore"]),
        .target(name: "AngioReport", dependencies: ["PNGShim", "VesselCore", "QCA"]),
        .target(
            name: "AngioPipeline",
            dependencies: ["AngioDICOM", "VesselCore", "QCA", "AngioPhantom", "AngioReport"]
        ),
        .executableTarget(
            name: "angio",
            dependencies: [
                "AngioPipeline", "AngioDICOM", "AngioPhantom", "AngioReport", "QCA", "VesselCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "angio-bench",
            dependencies: ["VesselCore", "AngioDICOM", "AngioPipeline"]
        ),
        .testTarget(name: "AngioDICOMTests", dependencies: ["AngioDICOM"]),
        .testTarget(name: "VesselCoreTests", dependencies: ["VesselCore", "AngioPhantom"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "QCATests", dependencies: ["QCA", "VesselCore", "AngioPhantom"]),
        .testTarget(name: "AngioReportTests", dependencies: ["AngioReport", "QCA", "VesselCore"]),
        .testTarget(
            name: "AngioPipelineTests",
            dependencies: ["AngioPipeline", "AngioDICOM", "AngioPhantom", "QCA", "VesselCore", "AngioReport"]
        ),
        .testTarget(name: "AngioCLITests", dependencies: ["angio"]),
    ],
    cxxLanguageStandard: .cxx17
)
