import CramfsFormat
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// How util-linux `mkfs.cramfs` is asked to build a reference image.
struct MkfsVariant: CustomTestStringConvertible, Sendable {
  var byteOrder: ByteOrder
  var pad: Bool
  var blockSize: Int

  var testDescription: String { "\(byteOrder)\(pad ? " padded" : "") \(blockSize)" }

  var arguments: [String] {
    ["-N", byteOrder.rawValue, "-b", String(blockSize)] + (pad ? ["-p"] : [])
  }

  static let all: [MkfsVariant] = [
    MkfsVariant(byteOrder: .little, pad: false, blockSize: 4096),
    MkfsVariant(byteOrder: .big, pad: false, blockSize: 4096),
    MkfsVariant(byteOrder: .little, pad: true, blockSize: 16384),
    MkfsVariant(byteOrder: .big, pad: true, blockSize: 16384),
  ]
}

/// One entry of a source tree, as `lstat` sees it and as cramfs stores it.
struct SourceEntry {
  /// Path relative to the tree root, `/`-separated, without a leading slash.
  var path: String
  var type: String
  var mode: UInt32
  var uid: UInt32
  var gid: UInt32
  var size: UInt64
  var major: UInt32?
  var minor: UInt32?
  var target: String?
}

/// A small generated tree and the `mkfs.cramfs` image made from it, in a temporary directory.
final class Fixture {
  static let mkfs = "/usr/sbin/mkfs.cramfs"
  static var mkfsAvailable: Bool { FileManager.default.isExecutableFile(atPath: mkfs) }

  let directory: URL
  let tree: URL
  let image: URL
  /// Whether a device node could be created (needs root).
  private(set) var hasDevice = false

  init(_ variant: MkfsVariant) throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("cramfs-cli-fixture-\(UUID().uuidString)")
    tree = directory.appendingPathComponent("tree")
    image = directory.appendingPathComponent("image.cramfs")
    try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
    try populate()
    let status = try Fixture.runTool(Fixture.mkfs, variant.arguments + [tree.path, image.path])
    try #require(status == 0, "mkfs.cramfs failed with \(status)")
  }

  deinit { try? FileManager.default.removeItem(at: directory) }

  /// Files, subdirectories, symlinks, a fifo, block-boundary sizes, special modes and owners.
  private func populate() throws {
    func file(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws {
      let url = tree.appendingPathComponent(path)
      try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
      try Data(bytes).write(to: url)
      chmod(url.path, mode)
    }
    var generator = SplitMix64(seed: 0x5eed)
    let random = (0..<40_000).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
    let text = (1...20_000).map(String.init).joined(separator: "\n") + "\n"
    try file("hello.txt", Array("hello, cramfs\n".utf8))
    try file("empty", [])
    try file("exact-block", [UInt8](repeating: 0x41, count: 4096))
    try file("block-plus-one", (0..<4097).map { UInt8($0 % 251) })
    try file("random.bin", random)
    try file("run.sh", Array("#!/bin/sh\necho hi\n".utf8), mode: 0o755)
    try file("setuid", Array("s".utf8), mode: 0o4711)
    try file("sub/nested.txt", Array("nested\n".utf8), mode: 0o600)
    try file("sub/deeper/numbers.txt", Array(text.utf8))
    try file("sub/deeper/ünïcödé name", Array("utf8\n".utf8))
    chmod(tree.appendingPathComponent("sub").path, 0o750)
    try FileManager.default.createDirectory(at: tree.appendingPathComponent("empty-dir"), withIntermediateDirectories: true)
    symlink("hello.txt", tree.appendingPathComponent("link").path)
    symlink("/sub/nested.txt", tree.appendingPathComponent("sub/absolute-link").path)
    mkfifo(tree.appendingPathComponent("fifo").path, 0o640)
    hasDevice = mknod(tree.appendingPathComponent("null").path, S_IFCHR | 0o666, dev_t((1 << 8) | 3)) == 0
    // Owners that exercise cramfs's 16-bit uid and 8-bit gid (only root may set them).
    lchown(tree.appendingPathComponent("hello.txt").path, 1234, 56)
    lchown(tree.appendingPathComponent("sub/nested.txt").path, 65535, 255)
  }

  /// Every entry below the root, as cramfs stores it, keyed by relative path.
  func sourceEntries() throws -> [String: SourceEntry] {
    var entries: [String: SourceEntry] = [:]
    let enumerator = try #require(FileManager.default.enumerator(atPath: tree.path))
    while let relative = enumerator.nextObject() as? String {
      let path = tree.appendingPathComponent(relative).path
      var info = stat()
      try #require(lstat(path, &info) == 0)
      let format = info.st_mode & S_IFMT
      var entry = SourceEntry(
        path: relative, type: "", mode: UInt32(info.st_mode), uid: UInt32(info.st_uid & 0xFFFF),
        gid: UInt32(info.st_gid & 0xFF), size: UInt64(info.st_size))
      switch format {
      case S_IFREG: entry.type = "file"
      case S_IFDIR: entry.type = "directory"
      case S_IFLNK:
        entry.type = "symlink"
        entry.target = try FileManager.default.destinationOfSymbolicLink(atPath: path)
      case S_IFIFO: entry.type = "fifo"; entry.size = 0
      case S_IFCHR:
        entry.type = "char-device"
        entry.size = 0
        entry.major = UInt32(truncatingIfNeeded: ((info.st_rdev >> 8) & 0xFFF) | ((info.st_rdev >> 32) & ~0xFFF))
        entry.minor = UInt32(truncatingIfNeeded: (info.st_rdev & 0xFF) | ((info.st_rdev >> 12) & ~0xFF))
      default: entry.type = "other"
      }
      entries[relative] = entry
    }
    return entries
  }

  /// Runs a tool, output discarded; returns its exit status.
  static func runTool(_ path: String, _ arguments: [String]) throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus
  }
}

/// A small seeded generator (SplitMix64) so generated content is the same on every run.
struct SplitMix64 {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
