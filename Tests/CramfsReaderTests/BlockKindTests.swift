import Cramfs
import CramfsTestSupport
import Testing

/// Writes a one-file image whose blocks are stored in the kinds asked for, the way the kernel reads them.
struct BlockKindForge {
  var byteOrder: ByteOrder
  var blockSize = 4096

  func image(content: [UInt8], kinds: [BlockKind]) -> [UInt8] {
    let compressor = try! BlockCompressor(implementation: .zlib, level: 6)
    var w = ByteWriter(byteOrder: byteOrder)
    w.append(contentsOf: [UInt8](repeating: 0, count: Superblock.encodedSize))  // filled in at the end
    let directoryStart = w.bytes.count
    let tableStart = directoryStart + 16
    Inode(mode: 0o100644, uid: 0, size: UInt32(content.count), gid: 0, nameWords: 1, offsetWords: UInt32(tableStart / 4)).encode(into: &w)
    w.append(contentsOf: Array("f".utf8) + [0, 0, 0])
    w.append(contentsOf: [UInt8](repeating: 0, count: 4 * kinds.count))
    for (index, kind) in kinds.enumerated() {
      let block = Array(content[(index * blockSize)..<min(content.count, (index + 1) * blockSize)])
      let pointer: BlockPointer
      switch kind {
      case .compressed:
        block.withUnsafeBytes { _ = compressor.compress($0, appendingTo: &w.bytes) }
        pointer = .end(w.bytes.count)
      case .uncompressed:
        w.append(contentsOf: block)
        pointer = .end(w.bytes.count, uncompressed: true)
      case .hole:
        pointer = .end(w.bytes.count)
      case .directUncompressed, .directUncompressedFullLastPage:
        w.pad(toMultipleOf: blockSize)
        let start = w.bytes.count
        w.append(contentsOf: block)
        w.pad(toMultipleOf: blockSize)  // zero-filled tail; the next block starts a page later
        pointer = .direct(start: start, uncompressed: true)
      case .directCompressed:
        w.pad(toMultipleOf: 4)
        let start = w.bytes.count
        var stream: [UInt8] = []
        block.withUnsafeBytes { _ = compressor.compress($0, appendingTo: &stream) }
        w.append(UInt16(stream.count))
        w.append(contentsOf: stream)
        pointer = .direct(start: start, uncompressed: false)
      }
      w.set(pointer.rawValue, at: tableStart + 4 * index)
    }
    w.pad(toMultipleOf: blockSize)
    let superblock = Superblock(
      size: UInt32(w.bytes.count), flags: [.fsidVersion2, .sortedDirectories, .holes, .extendedBlockPointers],
      fsid: FilesystemID(blocks: UInt32(kinds.count), files: 2),
      root: Inode(mode: 0o040755, uid: 0, size: 16, gid: 0, nameWords: 0, offsetWords: UInt32(directoryStart / 4)))
    var bytes = superblock.encoded(byteOrder: byteOrder) + w.bytes[Superblock.encodedSize...]
    let crc = bytes.withUnsafeBytes { crc32Checksum($0) }
    var crcWriter = ByteWriter(byteOrder: byteOrder)
    crcWriter.append(crc)
    bytes.replaceSubrange(Superblock.crcOffset..<(Superblock.crcOffset + 4), with: crcWriter.bytes)
    return bytes
  }
}

@Suite struct BlockKindTests {
  static let patterns: [[BlockKind]] = [
    [.compressed, .uncompressed, .hole, .directUncompressed, .directCompressed, .compressed],
    [.directUncompressed, .directUncompressed, .directUncompressed, .compressed],
    [.directCompressed, .uncompressed, .directUncompressed, .hole, .compressed, .directCompressed],
    [.uncompressed, .directCompressed, .compressed, .directUncompressed],
  ]

  static func content(blocks: Int, tail: Int, holes: [Int]) -> [UInt8] {
    var rng = SeededGenerator(seed: UInt64(blocks * 31 + tail))
    var bytes = (0..<((blocks - 1) * 4096 + tail)).map { i in i % 3 == 0 ? UInt8(truncatingIfNeeded: rng.next()) : UInt8(i % 251) }
    for hole in holes { for i in (hole * 4096)..<min(bytes.count, (hole + 1) * 4096) { bytes[i] = 0 } }
    return bytes
  }

  @Test(arguments: ByteOrder.allCases, patterns.indices)
  func everyBlockKindReadsBack(order: ByteOrder, pattern: Int) throws {
    let kinds = Self.patterns[pattern]
    let holes = kinds.indices.filter { kinds[$0] == .hole }
    for tail in [1, 1000, 4096] {
      let content = Self.content(blocks: kinds.count, tail: tail, holes: holes)
      let bytes = BlockKindForge(byteOrder: order).image(content: content, kinds: kinds)
      let image = try CramfsImage(bytes: bytes, blockSize: 4096)
      #expect(image.geometry.byteOrder == order)
      let file = try image.lookup("/f")
      #expect(try image.contents(of: file) == content)
      let seen = try image.blockLocations(of: file).map(\.kind)
      var expected = kinds
      // A full-size direct uncompressed last block has a kind of its own: the kernel's read() returns zeros
      // for it (format doc §6).
      if tail == 4096, kinds.last == .directUncompressed { expected[expected.count - 1] = .directUncompressedFullLastPage }
      #expect(seen == expected)
      let checksum = try #require(image.checksum())
      #expect(checksum.stored == checksum.computed)
    }
  }
}
