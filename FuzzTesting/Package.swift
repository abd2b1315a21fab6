// swift-tools-version: 6.1
// Fuzz targets (libFuzzer): build and run with ./do_build.sh. Separate from the main package so that a
// normal build never needs the fuzzer runtime.
import PackageDescription

let package = Package(
  name: "CramfsFuzzTesting",
  products: [
    .executable(name: "FuzzRead", targets: ["FuzzRead"]),
    .executable(name: "FuzzCheck", targets: ["FuzzCheck"]),
    .executable(name: "FuzzDeviceTable", targets: ["FuzzDeviceTable"]),
    .executable(name: "FuzzTar", targets: ["FuzzTar"]),
    .executable(name: "FuzzRoundTrip", targets: ["FuzzRoundTrip"]),
  ],
  dependencies: [.package(name: "swift-cramfs", path: "..")],
  targets: [
    .target(name: "FuzzSupport"),
    .executableTarget(name: "FuzzRead", dependencies: ["FuzzSupport", .product(name: "Cramfs", package: "swift-cramfs")]),
    .executableTarget(name: "FuzzCheck", dependencies: ["FuzzSupport", .product(name: "Cramfs", package: "swift-cramfs")]),
    .executableTarget(name: "FuzzDeviceTable", dependencies: ["FuzzSupport", .product(name: "Cramfs", package: "swift-cramfs")]),
    .executableTarget(name: "FuzzTar", dependencies: ["FuzzSupport", .product(name: "Cramfs", package: "swift-cramfs")]),
    .executableTarget(name: "FuzzRoundTrip", dependencies: ["FuzzSupport", .product(name: "Cramfs", package: "swift-cramfs")]),
  ]
)
