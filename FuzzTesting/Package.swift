// swift-tools-version: 6.1
// Fuzz targets (libFuzzer): build and run with ./do_build.sh. Separate from the main package so that a
// normal build never needs the fuzzer runtime.
import PackageDescription

let package = Package(
  name: "CramfsFuzzTesting",
  products: [
    .executable(name: "FuzzRead", targets: ["FuzzRead"]),
    .executable(name: "FuzzCheck", targets: ["FuzzCheck"]),
  ],
  dependencies: [.package(name: "swift-cramfs", path: "..")],
  targets: [
    .target(name: "FuzzSupport"),
    .executableTarget(name: "FuzzRead", dependencies: ["FuzzSupport", .product(name: "Cramfs", package: "swift-cramfs")]),
    .executableTarget(name: "FuzzCheck", dependencies: ["FuzzSupport", .product(name: "Cramfs", package: "swift-cramfs")]),
  ]
)
