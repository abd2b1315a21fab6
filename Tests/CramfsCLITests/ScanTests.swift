import Cramfs
import CramfsTestSupport
import Foundation
import Testing

/// `cramfs scan` on a synthetic firmware blob: images at odd offsets among random bytes and a squashfs
/// image; old-format variants (no FSID_VERSION_2, byte-swapped and wrong CRCs).
@Suite("scan")
struct ScanTests {
  private static func tree(in root: String) throws -> String {
    let tree = root + "/tree"
    try FileManager.default.createDirectory(atPath: tree + "/lib", withIntermediateDirectories: true)
    var rng = SeededGenerator(seed: 21)
    for (name, bytes) in [("lib/libx.so", rng.bytes(40_000)), ("etc.txt", Array(String(repeating: "config\n", count: 900).utf8)), ("small", Array("s\n".utf8))] {
      guard FileManager.default.createFile(atPath: tree + "/" + name, contents: Data(bytes)) else { throw GeneratorError("cannot write \(name)") }
    }
    try FileManager.default.createSymbolicLink(atPath: tree + "/link", withDestinationPath: "lib/libx.so")
    return tree
  }

  private static func build(_ tree: String, _ path: String, _ change: (inout BuildOptions) -> Void = { _ in }) throws -> [UInt8] {
    var options = BuildOptions()
    change(&options)
    _ = try ImageBuilder.build(from: tree, to: path, options: options)
    return try readBytes(path)
  }

  @Test func findsEveryImageAtItsOffset() throws {
    let root = try makeTemporaryDirectory("scan")
    defer { removeTree(root) }
    let tree = try Self.tree(in: root)
    let little = try Self.build(tree, root + "/le.img") { $0.byteOrder = .little }
    let bigXIP = try Self.build(tree, root + "/be.img") {
      $0.byteOrder = .big
      $0.padsBootSector = true
      $0.xipPatterns = ["/lib/*"]
    }
    let cut = Array(try Self.build(tree, root + "/cut.img").prefix(9000))
    let squash = try runProcess("/usr/bin/mksquashfs", [tree, root + "/sq.img", "-quiet", "-no-progress", "-noappend"])
    try #require(squash.status == 0, "mksquashfs: \(squash.standardError)")
    var rng = SeededGenerator(seed: 5)
    var blob = rng.bytes(1001)
    var offsets: [Int] = []
    for (index, part) in [little, try readBytes(root + "/sq.img"), bigXIP, cut].enumerated() {
      if index != 1 { offsets.append(blob.count) }  // the squashfs image must not be reported
      blob += part + rng.bytes(77 + index * 3)
    }
    let path = root + "/blob.bin"
    try Data(blob).write(to: URL(fileURLWithPath: path))

    let found = try ImageScanner.scan(path: path)
    #expect(found.map(\.offset) == offsets, "found at \(found.map(\.offset)), placed at \(offsets)")
    #expect(found.map(\.isComplete) == [true, true, false])
    #expect(found.map(\.image.geometry.byteOrder) == [.little, .big, ByteOrder.host])
    #expect(found.map(\.image.geometry.superblockOffset) == [0, 512, 0])
    #expect(found.prefix(2).allSatisfy { $0.crc == .ok && $0.entries == 5 })

    // Through the binary: each image extracted into its own directory; the complete ones equal the tree.
    let out = root + "/out"
    let result = try CLI.run(["scan", "--extract", out, path])
    #expect(result.status == 4, "the cut image has unreadable entries: \(result.standardError)")
    for offset in offsets.prefix(2) {
      let directory = out + "/" + String(format: "0x%08x", offset)
      #expect(try snapshotTree(directory) == snapshotTree(tree), "\(directory) differs from the tree")
    }
    #expect(result.standardError.contains("runs past the end of the image"))

    // With --tar, each complete image becomes an archive that builds back into the same image.
    let tars = root + "/tars"
    #expect(try CLI.run(["scan", "--extract", tars, "--tar", path]).status == 4)
    for (offset, arguments, original) in [(offsets[0], ["-N", "little"], little), (offsets[1], ["-N", "big", "-p", "--xip", "/lib/*"], bigXIP)] {
      let rebuilt = root + "/rebuilt.img"
      _ = try CLI.succeed(["make", "-q"] + arguments + [tars + "/" + String(format: "0x%08x", offset) + ".tar", rebuilt])
      #expect(try readBytes(rebuilt) == original, "the archive of the image at \(offset) does not build it back")
    }
  }

  /// Old firmware: no FSID_VERSION_2 (the size field means nothing: the extent is measured), a CRC stored
  /// byte-swapped, and a wrong CRC (reported, still read).
  @Test func oldFormatsAreRecognised() throws {
    let root = try makeTemporaryDirectory("scan-old")
    defer { removeTree(root) }
    let tree = try Self.tree(in: root)
    let image = try Self.build(tree, root + "/image")
    func word(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
      bytes[offset..<(offset + 4)].enumerated().reduce(0) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
    }
    func setWord(_ bytes: inout [UInt8], _ offset: Int, _ value: UInt32) {
      for i in 0..<4 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i))) }
    }
    var old = image
    setWord(&old, 8, word(old, 8) & ~1)  // no FSID_VERSION_2
    setWord(&old, 4, 0x7777_0000)  // a size that means nothing
    var swapped = image
    setWord(&swapped, 32, word(image, 32).byteSwapped)
    var wrong = image
    setWord(&wrong, 32, word(image, 32) ^ 0x1)
    let lastData = image.lastIndex { $0 != 0 }! + 1
    for (name, bytes, crc) in [("old", old, FoundImage.CRCStatus.unavailable), ("swapped", swapped, .byteSwapped), ("wrong", wrong, .mismatch)] {
      let found = ImageScanner.scan(ImageStorage(copying: [UInt8](repeating: 0xA5, count: 333) + bytes + [UInt8](repeating: 0x5A, count: 99)))
      try #require(found.count == 1, "\(name): found \(found.count)")
      #expect(found[0].offset == 333 && found[0].crc == crc && found[0].entries == 5, "\(name)")
      if name == "old" {
        #expect(found[0].sizeIsMeasured && found[0].size >= lastData && found[0].size <= image.count, "\(name): measured \(found[0].size), data ends at \(lastData)")
      } else {
        #expect(found[0].size == image.count && found[0].isComplete)
      }
      #expect(try found[0].image.contents(of: try found[0].image.lookup("/etc.txt")) == Array(String(repeating: "config\n", count: 900).utf8))
    }
  }
}
