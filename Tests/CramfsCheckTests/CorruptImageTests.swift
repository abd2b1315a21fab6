import Cramfs
import CramfsTestSupport
import Foundation
import Testing

/// One hostile image and the diagnostic it must produce.
struct CorruptCase: Sendable, CustomTestStringConvertible {
  var name: String
  /// Any of these codes satisfies the case.
  var codes: Set<Diagnostic.Code>
  var severity: Diagnostic.Severity = .error
  /// Whether the CRC is left stale (otherwise it is recomputed, so only structural checks can see the fault).
  var staleCRC = false
  var make: @Sendable (ByteOrder) -> [UInt8]
  var testDescription: String { name }

  /// A case made by changing the base image, CRC recomputed.
  static func mutate(_ name: String, _ codes: Set<Diagnostic.Code>, severity: Diagnostic.Severity = .error, _ change: @escaping @Sendable (inout HandImage) -> Void) -> CorruptCase {
    CorruptCase(name: name, codes: codes, severity: severity) { order in Fixtures.base(order).mutated(change) }
  }

  /// A case built from its own entries.
  static func build(_ name: String, _ codes: Set<Diagnostic.Code>, flags: SuperblockFlags = [.fsidVersion2, .sortedDirectories], _ entries: [HandEntry]) -> CorruptCase {
    CorruptCase(name: name, codes: codes) { order in HandImage(entries, order: order, flags: flags).bytes }
  }
}

enum CorruptCases {
  static let ok = HandEntry.file("ok", Array("fine\n".utf8))

  static let all: [CorruptCase] = [
    // Superblock.
    CorruptCase(name: "wrong magic", codes: [.badMagic]) { order in
      var bytes = Fixtures.base(order).bytes
      bytes[0] ^= 0xFF
      return bytes
    },
    CorruptCase(name: "shorter than a superblock", codes: [.truncated]) { order in Array(Fixtures.base(order).bytes.prefix(60)) },
    CorruptCase(name: "stale CRC", codes: [.crcMismatch], staleCRC: true) { order in
      var bytes = Fixtures.base(order).bytes
      bytes[33] ^= 0x10
      return bytes
    },
    CorruptCase(name: "flipped data byte, stale CRC", codes: [.crcMismatch], staleCRC: true) { order in
      var bytes = Fixtures.base(order).bytes
      bytes[bytes.count - 1] ^= 0x01
      return bytes
    },
    .mutate("unknown flags", [.unsupportedFlags]) { $0.setWord($0.word(at: 8) | 0x1000, at: 8) },
    .mutate("bad signature", [.badSignature]) { $0.bytes[16] = UInt8(ascii: "X") },
    .mutate("size smaller than the superblock", [.badSize]) { $0.setWord(40, at: 4) },
    CorruptCase(name: "size past the end of the file", codes: [.truncated]) { order in
      var image = Fixtures.base(order)
      image.setWord(UInt32(image.bytes.count + 4096), at: 4)
      return image.bytes
    },
    .mutate("zero file count", [.zeroFileCount]) { $0.setWord(0, at: 44) },
    .mutate("root is a file", [.rootNotDirectory]) { $0.updateInode(at: 64) { $0.mode = 0o100644 } },
    .mutate("bad root offset", [.badRootOffset]) { $0.updateInode(at: 64) { $0.offsetWords += 3 } },
    .mutate("file count disagrees", [.fsidFilesMismatch], severity: .warning) { $0.setWord(99, at: 44) },
    .mutate("block count disagrees", [.fsidBlocksMismatch], severity: .warning) { $0.setWord(1, at: 40) },
    // Directories.
    .mutate("directory past the end", [.directoryOutOfRange]) { image in
      let end = image.bytes.count
      image.updateInode(at: image.inodeOffsets["/d-sub"]!) { $0.offsetWords = UInt32(end + 64) / 4 }
    },
    .mutate("directory points at its parent's entries", [.directoryLoop]) { image in
      image.updateInode(at: image.inodeOffsets["/d-sub/deeper"]!) { $0.offsetWords = UInt32(Superblock.encodedSize / 4) }
    },
    .mutate("directory points at its own entries", [.directoryLoop]) { image in
      let own = image.directoryOffsets["/d-sub"]!
      image.updateInode(at: image.inodeOffsets["/d-sub/deeper"]!) { $0.offsetWords = UInt32(own / 4) }
    },
    .mutate("directory entries shared with a file", [.directoryFileOverlap]) { image in
      let entries = image.directoryOffsets["/d-sub"]!
      image.updateInode(at: image.inodeOffsets["/a-small"]!) { $0.offsetWords = UInt32(entries / 4) }
    },
    .mutate("directory size runs into the next directory", [.entryPastDirectoryEnd, .directoryOverlap]) { image in
      image.updateInode(at: image.inodeOffsets["/d-sub"]!) { $0.size += 4 }
    },
    .mutate("gap between directories and data", [.directoryDataGap]) { image in
      image.updateInode(at: image.inodeOffsets["/d-sub/deeper"]!) { $0.size = 0 }
    },
    .mutate("zero offset with a size", [.zeroOffset]) { image in
      image.updateInode(at: image.inodeOffsets["/a-small"]!) { $0.offsetWords = 0 }
    },
    // Names and order.
    .build("empty name", [.emptyName], [.raw([], mode: 0o100644, content: [1]), ok]),
    .build("all-NUL name", [.emptyName], [.raw([0, 0, 0, 0], mode: 0o100644, content: [1]), ok]),
    .build("name '..'", [.dotName], [.raw(Array("..".utf8), mode: 0o040755, children: [ok]), ok]),
    .build("name '.'", [.dotName], [.raw(Array(".".utf8), mode: 0o100644, content: [1]), ok]),
    .build("name with a slash", [.slashInName], [.raw(Array("a/b".utf8), mode: 0o100644, content: [1]), ok]),
    .build("name with NUL inside", [.nulInName], [.raw([0x61, 0, 0x62], mode: 0o100644, content: [1]), ok]),
    .build("name with four NULs of padding", [.badNamePadding], [.raw([0x61, 0, 0, 0, 0, 0, 0, 0], mode: 0o100644, content: [1]), ok]),
    .build("unsorted entries", [.unsortedEntries], [.file("b", [1]), .file("a", [2])]),
    .build("duplicate names", [.duplicateName], [.file("a", [1]), .file("a", [2])]),
    .build("unsorted by unsigned bytes", [.unsortedEntries], [.raw([0xC3, 0xA9], mode: 0o100644, content: [1]), .file("z", [2])]),
    // Entry types.
    .mutate("bogus mode", [.badMode]) { image in
      image.updateInode(at: image.inodeOffsets["/a-small"]!) { $0.mode = 0o170644 }
    },
    .mutate("device with an offset", [.specialWithOffset]) { image in
      image.updateInode(at: image.inodeOffsets["/c-dev"]!) { $0.offsetWords = 19 }
    },
    .mutate("fifo with a size", [.specialWithSize]) { image in
      image.updateInode(at: image.inodeOffsets["/f-fifo"]!) { $0.size = 5 }
    },
    .build("symlink target with NUL", [.nulInSymlink], [.raw(Array("l".utf8), mode: 0o120777, content: [0x61, 0, 0x62]), ok]),
    .build("symlink longer than a page", [.symlinkTooLong], [.symlink("l", String(repeating: "x/", count: 2100)), ok]),
    .mutate("empty symlink", [.emptySymlink]) { image in
      image.updateInode(at: image.inodeOffsets["/g-link"]!) { $0.size = 0 }
    },
    // Pointer tables and blocks.
    .mutate("pointer table past the end", [.pointerTableOutOfRange]) { image in
      let end = image.bytes.count
      image.updateInode(at: image.inodeOffsets["/b-two-blocks"]!) { $0.offsetWords = UInt32(end - 4) / 4 }
    },
    .mutate("block longer than two blocks", [.badBlockLength]) { image in
      let table = image.tableOffsets["/e-random"]!
      image.setWord(UInt32(table + 4 + 2 * 4096 + 4), at: table)
    },
    .mutate("block ends before it starts", [.badBlockLength]) { image in
      let table = image.tableOffsets["/b-two-blocks"]!
      image.setWord(image.word(at: table + 4) + 8, at: table)
    },
    .mutate("block past the superblock size", [.blockOutOfRange]) { image in
      let (start, _) = image.blocks["/e-random"]![0]
      image.setWord(UInt32(start + 8), at: 4)
    },
    .mutate("pointer flags without EXT_BLOCK_POINTERS", [.pointerFlagsWithoutExt]) { image in
      let table = image.tableOffsets["/e-random"]!
      image.setWord(image.word(at: table) | 1 << 31, at: table)
    },
    .mutate("corrupt deflate data", [.decompressionFailed, .badBlockLength]) { image in
      let (start, end) = image.blocks["/e-random"]![0]
      for offset in stride(from: start + 8, to: end - 8, by: 97) { image.bytes[offset] ^= 0x5A }
    },
    .mutate("bad zlib header", [.decompressionFailed]) { image in
      let (start, _) = image.blocks["/b-two-blocks"]![1]
      image.bytes[start] = 0
    },
    .mutate("block inflates short", [.badBlockLength, .decompressionFailed]) { image in
      // Point block 0 of the two-block file at the one-block file's stream (13 bytes, not 4096).
      let table = image.tableOffsets["/b-two-blocks"]!
      let small = image.blocks["/a-small"]![0]
      image.updateInode(at: image.inodeOffsets["/a-small"]!) { $0.offsetWords = UInt32(table) / 4 }
      _ = small
    },
    .mutate("two files, one data area, different sizes", [.sharedDataSize]) { image in
      let table = image.tableOffsets["/e-random"]!
      image.updateInode(at: image.inodeOffsets["/a-small"]!) { $0.offsetWords = UInt32(table / 4) }
    },
    .mutate("overlapping file data", [.dataOverlap]) { image in
      let table = image.tableOffsets["/b-two-blocks"]!
      image.updateInode(at: image.inodeOffsets["/e-random"]!) { $0.offsetWords = UInt32(table / 4) + 1 }
    },
    .mutate("hole without the HOLES flag", [.holeWithoutFlag], severity: .warning) { image in
      let table = image.tableOffsets["/b-two-blocks"]!
      let (_, end0) = image.blocks["/b-two-blocks"]![0]
      // Block 1 becomes empty: its end equals its start.
      image.setWord(UInt32(end0), at: table + 4)
    },
  ]
}

@Suite struct CorruptImageTests {
  @Test(arguments: CorruptCases.all, ByteOrder.allCases)
  func reportsTheProblem(_ corruption: CorruptCase, order: ByteOrder) throws {
    let bytes = corruption.make(order)
    let report = ImageChecker.check(bytes: bytes)
    let matching = report.diagnostics.filter { corruption.codes.contains($0.code) && $0.severity == corruption.severity }
    #expect(!matching.isEmpty, "\(corruption.name): got \(report.diagnostics)")
    if corruption.severity == .error { #expect(!report.isClean) }
    if !corruption.staleCRC { #expect(!report.codes.contains(.crcMismatch), "CRC should have been recomputed") }
    for diagnostic in report.diagnostics where diagnostic.code != .badMagic && diagnostic.code != .truncated {
      #expect(diagnostic.offset != nil, "\(diagnostic) has no offset")
    }
  }

  @Test(arguments: ByteOrder.allCases)
  func baseImageIsClean(order: ByteOrder) throws {
    let report = ImageChecker.check(bytes: Fixtures.base(order).bytes)
    #expect(report.diagnostics.isEmpty, "\(report.diagnostics)")
    #expect(report.files == 5 && report.directories == 2 && report.symlinks == 2 && report.specialFiles == 2)
  }

  @Test(arguments: ByteOrder.allCases)
  func wrongByteOrderWhenOneIsExpected(order: ByteOrder) {
    let other: ByteOrder = order == .little ? .big : .little
    let report = ImageChecker.check(bytes: Fixtures.base(order).bytes, options: CheckOptions(expectedByteOrder: other))
    #expect(report.codes.contains(.wrongByteOrder))
    #expect(ImageChecker.check(bytes: Fixtures.base(order).bytes, options: CheckOptions(expectedByteOrder: order)).isClean)
  }

  /// A full-size last block stored direct and uncompressed reads as zeros through the kernel's read().
  @Test(arguments: ByteOrder.allCases)
  func directUncompressedFullLastBlockIsWarned(order: ByteOrder) throws {
    let content = Fixtures.random(4096, seed: 11)
    var image = HandImage([.file("page", content)], order: order, flags: [.fsidVersion2, .sortedDirectories, .extendedBlockPointers])
    let table = image.tableOffsets["/page"]!
    image.bytes.replaceSubrange((table + 4)..<(table + 4 + 4096), with: content)
    image.setWord(BlockPointer.direct(start: table + 4, uncompressed: true).rawValue, at: table)
    image.fixCRC()
    let report = ImageChecker.check(bytes: image.bytes)
    #expect(report.isClean, "\(report.diagnostics)")
    #expect(report.warnings.map(\.code) == [.directLastBlockReadsAsZeros])
  }

  /// Direct and uncompressed blocks in a valid layout check clean.
  @Test(arguments: ByteOrder.allCases)
  func extendedPointersCheckClean(order: ByteOrder) throws {
    let content = Fixtures.random(4096, seed: 12) + Array(Fixtures.text(1000))
    var image = HandImage([.file("xip", content)], order: order, flags: [.fsidVersion2, .sortedDirectories, .extendedBlockPointers])
    let table = image.tableOffsets["/xip"]!
    // Block 0 verbatim right after the table (direct), block 1 follows it (classic, compressed).
    let compressor = try BlockCompressor(implementation: .zlib, level: 6)
    var stream: [UInt8] = []
    Array(content[4096...]).withUnsafeBytes { _ = compressor.compress($0, appendingTo: &stream) }
    let start0 = table + 8
    let start1 = start0 + 4096
    image.bytes.replaceSubrange(start0..<(start1 + stream.count), with: Array(content[0..<4096]) + stream)
    image.setWord(BlockPointer.direct(start: start0, uncompressed: true).rawValue, at: table)
    image.setWord(UInt32(start1 + stream.count), at: table + 4)
    image.fixCRC()
    let report = ImageChecker.check(bytes: image.bytes)
    #expect(report.diagnostics.isEmpty, "\(report.diagnostics)")
    #expect(report.blocksVerified == 2)
  }

  // MARK: - Truncation

  @Test(arguments: ByteOrder.allCases, [false, true])
  func truncationAtEveryBoundary(order: ByteOrder, mkfs: Bool) throws {
    let bytes = mkfs ? try Fixtures.mkfsImage(order, pad: order == .big) : Fixtures.base(order).bytes
    let boundaries = try Fixtures.boundaries(of: bytes)
    let extra = stride(from: 1, to: bytes.count, by: 61)
    let dataEnd = try dataEnd(of: bytes)
    var tested = 0
    for length in Set(boundaries + Array(extra)).sorted() {
      let cut = Array(bytes.prefix(length))
      let report = ImageChecker.check(bytes: cut)
      #expect(!report.isClean, "truncated at \(length): no error")
      // The same cut with `size` and CRC made consistent: only the structural checks can see it.
      guard length >= 1024, length < dataEnd else { continue }
      var consistent = cut
      let superblockOffset = bytes[0..<4] == [0, 0, 0, 0] ? 512 : 0
      var writer = ByteWriter(byteOrder: order)
      writer.append(UInt32(length))
      consistent.replaceSubrange((superblockOffset + 4)..<(superblockOffset + 8), with: writer.bytes)
      HandImage.fixCRC(&consistent, order: order, superblockOffset: superblockOffset)
      let structural = ImageChecker.check(bytes: consistent)
      #expect(!structural.isClean && !structural.codes.contains(.crcMismatch), "cut at \(length), size fixed: \(structural.diagnostics)")
      tested += 1
    }
    #expect(tested > 5)
  }

  private func dataEnd(of bytes: [UInt8]) throws -> Int {
    let image = try CramfsImage(bytes: bytes)
    var end = 0
    try image.walk { (_, node) throws(CramfsError) in
      end = max(end, node.entryOffset + 12 + node.inode.nameByteCount)
      if (node.type == .regular || node.type == .symlink) && node.hasData {
        for location in try image.blockLocations(of: node) { end = max(end, location.end) }
      }
    }
    return end
  }

  // MARK: - Random damage

  /// A few hundred seeded variants with 1 to 4 flipped bytes: the CRC catches every one; with the CRC
  /// recomputed, the structural checks still run to the end and catch most of those that land in structures.
  @Test(arguments: ByteOrder.allCases)
  func randomByteFlips(order: ByteOrder) throws {
    let bytes = try Fixtures.mkfsImage(order, pad: order == .little)
    let seed = TestSeed.value(0xF11F)
    var random = SeededGenerator(seed: seed &+ (order == .big ? 1 : 0))
    let dataEnd = try dataEnd(of: bytes)
    var structuralHits = 0
    let variants = 300
    let superblockOffset = order == .little ? 512 : 0
    for variant in 0..<variants {
      var damaged = bytes
      for _ in 0...Int.random(in: 0...3, using: &random) {
        // The pad before a padded superblock is boot code: not covered by the CRC, ignored by the kernel.
        let offset = Int.random(in: superblockOffset..<dataEnd, using: &random)
        damaged[offset] ^= UInt8.random(in: 1...255, using: &random)
      }
      let report = ImageChecker.check(bytes: damaged)
      #expect(!report.isClean, "seed \(seed) variant \(variant): no error")
      HandImage.fixCRC(&damaged, order: order, superblockOffset: superblockOffset)
      let structural = ImageChecker.check(bytes: damaged)
      if !structural.isClean { structuralHits += 1 }
    }
    // Flips in permission bits, owners or names are legal images; most other flips are not.
    #expect(structuralHits > variants / 2, "only \(structuralHits) of \(variants) found without the CRC")
  }

  /// Random bytes behind a valid magic: never a trap, a hang or a clean report.
  @Test(arguments: ByteOrder.allCases)
  func garbageBehindAValidMagic(order: ByteOrder) {
    var random = SeededGenerator(seed: TestSeed.value(0x6A7B) &+ (order == .big ? 1 : 0))
    for _ in 0..<200 {
      var bytes = random.bytes(Int.random(in: 76...20000, using: &random))
      var writer = ByteWriter(byteOrder: order)
      writer.append(Superblock.magic)
      bytes.replaceSubrange(0..<4, with: writer.bytes)
      if Bool.random(using: &random) {
        // A plausible root: a directory right after the superblock.
        var root = ByteWriter(byteOrder: order)
        Inode(mode: 0o040755, uid: 0, size: UInt32.random(in: 0...4000, using: &random), gid: 0, nameWords: 0, offsetWords: 19).encode(into: &root)
        bytes.replaceSubrange(64..<76, with: root.bytes)
      }
      let report = ImageChecker.check(bytes: bytes)
      #expect(!report.isClean)
    }
  }

  /// Many entries sharing one loop of directories, many files sharing tables: bounded work.
  @Test func hostileSharingStaysFast() throws {
    var entries: [HandEntry] = []
    for index in 0..<2000 { entries.append(.directory(String(format: "d%05d", index), [])) }
    entries.append(.file("z", Fixtures.text(100_000)))
    var image = HandImage(entries, order: .little)
    let root = Superblock.encodedSize
    let rootSize = image.inode(at: 64).size
    for index in 0..<2000 {
      let path = "/" + String(format: "d%05d", index)
      image.updateInode(at: image.inodeOffsets[path]!) { inode in
        inode.offsetWords = UInt32(root + 12 * (index % 50)) / 4
        inode.size = rootSize
      }
    }
    image.updateInode(at: image.inodeOffsets["/z"]!) { $0.size = Inode.maxSize }
    image.fixCRC()
    let clock = ContinuousClock()
    let start = clock.now
    let report = ImageChecker.check(bytes: image.bytes)
    #expect(clock.now - start < .seconds(10))
    #expect(!report.isClean)
    #expect(report.errorCount > 100)
    #expect(report.diagnostics.count <= 1000)
  }

  /// A chain of directories with 252-byte names: walked until the path passes 16 KiB, then reported.
  @Test func deepPathsAreBounded() {
    var entry = HandEntry.file("bottom", [1])
    for _ in 0..<100 { entry = .directory(String(repeating: "d", count: 252), [entry]) }
    let report = ImageChecker.check(bytes: HandImage([entry]).bytes)
    #expect(report.codes == [.pathTooLong])
    #expect(report.errorCount == 1)
  }

  /// Structural damage to real `mkfs.cramfs` output (padded and not), CRC recomputed each time.
  @Test(arguments: ByteOrder.allCases, [false, true])
  func mutatedMkfsOutput(order: ByteOrder, pad: Bool) throws {
    let bytes = try Fixtures.mkfsImage(order, pad: pad)
    let image = try CramfsImage(bytes: bytes)
    let start = image.geometry.superblockOffset
    let rootEntries = image.superblock.root.byteOffset
    let sub = try image.lookup("/dir/sub")
    let file = try image.lookup("/dir/three-blocks")
    let small = try image.lookup("/small")
    func damaged(_ change: (inout [UInt8]) -> Void) -> CheckReport {
      var copy = bytes
      change(&copy)
      HandImage.fixCRC(&copy, order: order, superblockOffset: start)
      return ImageChecker.check(bytes: copy)
    }
    func setInode(_ bytes: inout [UInt8], _ node: Node, _ change: (inout Inode) -> Void) {
      var inode = node.inode
      change(&inode)
      var writer = ByteWriter(byteOrder: order)
      inode.encode(into: &writer)
      bytes.replaceSubrange(node.entryOffset..<(node.entryOffset + 12), with: writer.bytes)
    }
    func setWord(_ bytes: inout [UInt8], _ value: UInt32, at offset: Int) {
      var writer = ByteWriter(byteOrder: order)
      writer.append(value)
      bytes.replaceSubrange(offset..<(offset + 4), with: writer.bytes)
    }
    #expect(ImageChecker.check(bytes: bytes).diagnostics.isEmpty)
    #expect(damaged { setInode(&$0, sub) { $0.offsetWords = UInt32(rootEntries / 4) } }.codes.contains(.directoryLoop))
    #expect(damaged { setInode(&$0, sub) { $0.offsetWords = UInt32(bytes.count / 4 + 10) } }.codes.contains(.directoryOutOfRange))
    #expect(damaged { setInode(&$0, file) { $0.offsetWords = UInt32(bytes.count / 4 - 1) } }.codes.contains(.pointerTableOutOfRange))
    let table = file.inode.byteOffset
    #expect(damaged { setWord(&$0, UInt32(table + 12 + 3 * 4096), at: table) }.codes.contains(.badBlockLength))
    #expect(damaged { setWord(&$0, UInt32(bytes.count + 64), at: table + 8) }.codes.contains(.blockOutOfRange))
    #expect(damaged { $0[small.entryOffset + 13] = UInt8(ascii: "/") }.codes.contains(.slashInName))
    let first = try image.lookup("/dir")
    #expect(damaged { $0[first.entryOffset + 12] = UInt8(ascii: "z") }.codes.contains(.unsortedEntries))
    #expect(damaged { setWord(&$0, 0x0800_0003, at: start + 8) }.codes.contains(.unsupportedFlags))
    #expect(damaged { setInode(&$0, small) { $0.mode = 0o020644 } }.codes.contains(.specialWithOffset))
  }
}
