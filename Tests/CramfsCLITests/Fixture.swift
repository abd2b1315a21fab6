import CramfsFormat
import CramfsTestSupport
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
  private let scratch: TemporaryDirectory
  let directory: URL
  let tree: URL
  let image: URL
  /// Whether a device node could be created (needs root).
  private(set) var hasDevice = false

  init(_ variant: MkfsVariant) throws {
    scratch = try TemporaryDirectory("cli-fixture")
    directory = URL(fileURLWithPath: scratch.path)
    tree = directory.appendingPathComponent("tree")
    image = directory.appendingPathComponent("image.cramfs")
    try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
    try populate()
    try UtilLinuxCramfs.makeImage(variant.arguments, source: tree.path, image: image.path)
  }

  /// Files, subdirectories, symlinks, a fifo, block-boundary sizes, special modes and owners.
  private func populate() throws {
    func file(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws {
      let url = tree.appendingPathComponent(path)
      try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
      try Data(bytes).write(to: url)
      chmod(url.path, mode)
    }
    var generator = SeededGenerator(seed: 0x5eed)
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
    hasDevice = mknod(tree.appendingPathComponent("null").path, S_IFCHR | 0o666, makeDevice(major: 1, minor: 3)) == 0
    // Owners that exercise cramfs's 16-bit uid and 8-bit gid (only root may set them).
    lchown(tree.appendingPathComponent("hello.txt").path, 1234, 56)
    lchown(tree.appendingPathComponent("sub/nested.txt").path, 65535, 255)
  }

  /// Every entry below the root, as cramfs stores it, keyed by relative path.
  func sourceEntries() throws -> [String: SourceEntry] {
    var entries: [String: SourceEntry] = [:]
    for host in try hostEntries(below: tree.path) {
      let relative = String(host.path.dropFirst())
      var entry = SourceEntry(
        path: relative, type: "", mode: UInt32(host.mode), uid: host.cramfsUID, gid: host.cramfsGID,
        size: UInt64(host.size))
      switch host.fileType {
      case S_IFREG: entry.type = "file"
      case S_IFDIR: entry.type = "directory"
      case S_IFLNK:
        entry.type = "symlink"
        entry.target = host.symlinkTarget
      case S_IFIFO: entry.type = "fifo"; entry.size = 0
      case S_IFCHR:
        entry.type = "char-device"
        entry.size = 0
        entry.major = host.deviceMajor
        entry.minor = host.deviceMinor
      default: entry.type = "other"
      }
      entries[relative] = entry
    }
    return entries
  }
}
