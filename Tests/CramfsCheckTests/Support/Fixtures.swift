import Cramfs
import CramfsTestSupport
import Foundation

/// Small images the corrupt-image and attack suites start from.
enum Fixtures {
  /// Compressible text of `count` bytes, different for each `seed`.
  static func text(_ count: Int, seed: Int = 0) -> [UInt8] {
    var out: [UInt8] = []
    var index = seed
    while out.count < count {
      out += Array("line \(index) of some cramfs test data\n".utf8)
      index += 1
    }
    return Array(out.prefix(count))
  }

  static func random(_ count: Int, seed: UInt64) -> [UInt8] {
    var generator = SeededGenerator(seed: seed)
    return generator.bytes(count)
  }

  static func device(_ name: String, major: UInt32, minor: UInt32) -> HandEntry {
    HandEntry(name: Array(name.utf8), mode: 0o020644, rdev: major << 8 | minor)
  }

  static func fifo(_ name: String) -> HandEntry { HandEntry(name: Array(name.utf8), mode: 0o010644) }

  /// Every entry kind, two directory levels, files of one and two blocks.
  static func base(_ order: ByteOrder) -> HandImage {
    HandImage(
      [
        .file("a-small", Array("hello cramfs\n".utf8)),
        .file("b-two-blocks", text(6000)),
        device("c-dev", major: 4, minor: 5),
        .directory(
          "d-sub",
          [
            .directory("deeper", [.file("x", text(10, seed: 9))]),
            .file("inner", text(300, seed: 3)),
            .symlink("link", "../a-small"),
          ]),
        .file("e-random", random(5000, seed: 7)),
        fifo("f-fifo"),
        .symlink("g-link", "a-small"),
      ], order: order)
  }

  /// A small tree on disk, for `mkfs.cramfs`.
  static func makeSmallTree(at root: String) throws {
    let manager = FileManager.default
    try manager.createDirectory(atPath: root + "/dir/sub", withIntermediateDirectories: true)
    try Data(text(100)).write(to: URL(fileURLWithPath: root + "/small"))
    try Data(text(9000, seed: 1)).write(to: URL(fileURLWithPath: root + "/dir/three-blocks"))
    try Data(random(6000, seed: 3)).write(to: URL(fileURLWithPath: root + "/dir/sub/random"))
    try Data(text(4096, seed: 2)).write(to: URL(fileURLWithPath: root + "/dir/exact-block"))
    try Data().write(to: URL(fileURLWithPath: root + "/empty"))
    try manager.createSymbolicLink(atPath: root + "/link", withDestinationPath: "dir/three-blocks")
    try manager.createDirectory(atPath: root + "/empty-dir", withIntermediateDirectories: true)
  }

  /// `mkfs.cramfs` output for the small tree.
  static func mkfsImage(_ order: ByteOrder, pad: Bool = false) throws -> [UInt8] {
    let work = try TemporaryDirectory()
    try makeSmallTree(at: work.file("tree"))
    let image = work.file("image")
    try UtilLinuxCramfs.makeImage(["-N", order.rawValue] + (pad ? ["-p"] : []), source: work.file("tree"), image: image)
    return Array(try Data(contentsOf: URL(fileURLWithPath: image)))
  }

  /// Offsets where structures begin or end: superblock, every inode and name, pointer tables, blocks.
  static func boundaries(of bytes: [UInt8]) throws -> [Int] {
    let image = try CramfsImage(bytes: bytes)
    let start = image.geometry.superblockOffset
    var set: Set<Int> = [0, 1, 4, 8, 16, 32, 48, 63, 64, 75, start, start + 4, start + 64, start + 75, start + 76]
    try image.walk { (_, node) throws(CramfsError) in
      set.insert(node.entryOffset)
      set.insert(node.entryOffset + 12)
      set.insert(node.entryOffset + 12 + node.inode.nameByteCount)
      if node.type == .directory {
        set.insert(node.inode.byteOffset)
        set.insert(node.inode.byteOffset + Int(node.inode.size))
      }
      if (node.type == .regular || node.type == .symlink) && node.hasData {
        set.insert(node.inode.byteOffset)
        for location in try image.blockLocations(of: node) {
          set.insert(location.start)
          set.insert(location.start + location.length / 2)
          set.insert(location.end)
        }
      }
    }
    return set.filter { $0 > 0 && $0 < bytes.count }.sorted()
  }
}
