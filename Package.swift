// swift-tools-version: 6.1
import PackageDescription

let package = Package(
  name: "swift-cramfs",
  // Linux only: the library maps files with userfaultfd, creates files with O_TMPFILE and reads Linux
  // device numbers; nothing is built or tested on other systems, so none is declared.
  products: [
    .library(name: "Cramfs", targets: ["Cramfs", "CramfsFormat"]),
    .executable(name: "cramfs", targets: ["cramfs"]),
    .executable(name: "mkcramfs", targets: ["mkcramfs"]),
    .executable(name: "cramfsck", targets: ["cramfsck"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
    // `swift package generate-documentation --target Cramfs` (the DocC catalog in Sources/Cramfs/Cramfs.docc).
    .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
  ],
  targets: [
    // The on-disk format: value types, constants, encode/decode. No I/O, no Foundation, no zlib.
    .target(name: "CramfsFormat"),
    .systemLibrary(name: "CLibdeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),
    .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
    // SHA-256 for `cramfs map` reports (OpenSSL's libcrypto).
    // Tar archives in and out (`cramfs make ARCHIVE.tar`, `cramfs extract --tar`).
    .systemLibrary(name: "CLibarchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
    .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
    // Linux calls Swift cannot make directly (variadic syscall/ioctl, userfaultfd).
    .target(name: "CCramfsShims"),
    // Reader, builder, checker and extractor over real files.
    .target(
      name: "Cramfs",
      dependencies: [
        "CramfsFormat", "CLibdeflate", "CZlib", "CLibarchive", "CCramfsShims",
        .product(name: "SystemPackage", package: "swift-system"),
      ]),
    // libfuse 3 (low-level API) and the FUSE file system behind `cramfs mount`; Linux only.
    .systemLibrary(name: "CFuse", pkgConfig: "fuse3", providers: [.apt(["libfuse3-dev"])]),
    .target(
      name: "CramfsFUSE",
      dependencies: ["Cramfs", "CFuse", .product(name: "SystemPackage", package: "swift-system")]),
    // Command implementations shared by the three executables.
    .target(
      name: "CramfsCommands",
      dependencies: [
        "Cramfs", "CCrypto", "CCramfsShims", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "SystemPackage", package: "swift-system"),
        .target(name: "CramfsFUSE", condition: .when(platforms: [.linux])),
      ]),
    .executableTarget(name: "cramfs", dependencies: ["CramfsCommands"]),
    .executableTarget(name: "mkcramfs", dependencies: ["Cramfs", "CramfsCommands"]),
    .executableTarget(name: "cramfsck", dependencies: ["CramfsCommands"]),
    // Helpers used only by tests: tree generators, seeded RNG, process runner.
    .target(name: "CramfsTestSupport", dependencies: ["Cramfs"], path: "Tests/CramfsTestSupport"),
    .testTarget(name: "CramfsFormatTests", dependencies: ["CramfsFormat"]),
    .testTarget(name: "CramfsReaderTests", dependencies: ["Cramfs", "CramfsTestSupport"]),
    .testTarget(name: "CramfsBuilderTests", dependencies: ["Cramfs", "CramfsTestSupport"]),
    .testTarget(name: "CramfsCheckTests", dependencies: ["Cramfs", "CramfsTestSupport"]),
    .testTarget(name: "CramfsCLITests", dependencies: ["Cramfs", "CramfsTestSupport"]),
    .testTarget(name: "CramfsFUSETests", dependencies: ["Cramfs", "CramfsFUSE", "CramfsTestSupport"]),
  ]
)
