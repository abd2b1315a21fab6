import CramfsTestSupport
import Foundation
import Testing

@testable import Cramfs

/// A tree like an embedded root filesystem: real ELF programs and libraries of this host, ELF files of both
/// classes and byte orders, small and large data files (one an exact multiple of every page size), text,
/// zeros, a symlink and nested directories.
private struct DetectionTree {
  let root: String
  var source: String { root + "/src" }

  init() throws {
    root = try makeTemporaryDirectory("block-size")
    let src = root + "/src"
    var rng = SeededGenerator(seed: 0xB10C)
    func write(_ relative: String, _ bytes: [UInt8]) throws {
      let path = src + "/" + relative
      try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
      guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { throw GeneratorError("cannot write \(path)") }
    }
    // Real programs and libraries of this host (ELF64), small enough to keep the matrix quick.
    for (host, relative) in [("/usr/bin/gzip", "bin/gzip"), ("/usr/bin/env", "usr/bin/env"), ("/lib/x86_64-linux-gnu/libz.so.1", "lib/libz.so.1")] {
      try write(relative, try readBytes(host))
    }
    // Both ELF classes in both byte orders, with read-only and writable segments that are not page aligned.
    for (is64Bit, order, length) in [(false, ByteOrder.little, 90_000), (false, .big, 150_000), (true, .little, 70_000), (true, .big, 200_000)] {
      let segments = [
        ELFWriter.Segment(flags: ELFWriter.Segment.readExecute, offset: 0, fileSize: length * 2 / 3),
        ELFWriter.Segment(flags: ELFWriter.Segment.readWrite, offset: length * 2 / 3 + 100, fileSize: length / 3 - 200),
      ]
      let writer = ELFWriter(is64Bit: is64Bit, byteOrder: order)
      try write("usr/bin/elf\(is64Bit ? 64 : 32)-\(order)", writer.file(length: length, segments: segments, seed: rng.next()))
    }
    try write("etc/hostname", Array("cramfs\n".utf8))
    try write("etc/small", (0..<3000).map { UInt8(truncatingIfNeeded: $0 % 26 + 97) })
    try write("data/random", rng.bytes(300_000))
    try write("data/exact", rng.bytes(131_072))  // a multiple of 4, 16 and 64 KiB
    try write("data/text", (0..<400_000).map { UInt8(truncatingIfNeeded: ($0 * 7 + $0 / 1000) % 26 + 97) })
    try write("data/zeros", [UInt8](repeating: 0, count: 200_000) + Array("end".utf8))
    try FileManager.default.createSymbolicLink(atPath: src + "/lib/libz.so", withDestinationPath: "libz.so.1")
  }

  func remove() { removeTree(root) }
}

/// The XIP layouts of the matrix: none, `-X`, `-X -X`, `--xip` of every file, `--xip` of some.
enum DetectionLayout: String, CaseIterable, CustomStringConvertible {
  case plain, elf8, elfPage, xipEverything, xipSome
  var description: String { rawValue }

  func apply(to options: inout BuildOptions) {
    switch self {
    case .plain: break
    case .elf8: options.xipELF = .eightBytes
    case .elfPage: options.xipELF = .page
    case .xipEverything: options.xipPatterns = ["*"]
    case .xipSome: options.xipPatterns = ["/lib/*", "/bin/gzip", "/data/exact"]
    }
  }
}

/// Writes `bytes` to `path`, or throws.
private func put<S: Sequence>(_ path: String, _ bytes: S) throws where S.Element == UInt8 {
  guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { throw GeneratorError("cannot write \(path)") }
}

@Suite("Block size detection")
struct BlockSizeDetectionTests {
  /// Every image our builder writes is read with the block size it was built with, without being told:
  /// check is clean, extraction gives the tree back, and the XIP prediction equals the one made with the
  /// true size.
  @Test(arguments: [4096, 16384, 65536], DetectionLayout.allCases)
  func ourImagesAreDetected(blockSize: Int, layout: DetectionLayout) throws {
    let tree = try DetectionTree()
    defer { tree.remove() }
    for byteOrder in [ByteOrder.little, .big] {
      for pad in [false, true] {
        let name = "\(blockSize)-\(layout)-\(byteOrder)\(pad ? "-pad" : "")"
        var options = BuildOptions()
        options.blockSize = blockSize
        options.byteOrder = byteOrder
        options.padsBootSector = pad
        layout.apply(to: &options)
        let path = tree.root + "/\(name).img"
        _ = try ImageBuilder.build(from: tree.source, to: path, options: options)
        defer { unlink(path) }

        let image = try CramfsImage(path: path)
        #expect(image.blockSizeDetection.method == .detected, "\(name): \(image.blockSizeDetection.summary)")
        #expect(image.blockSize == blockSize, "\(name): detected \(image.blockSize)")
        guard image.blockSize == blockSize else { continue }

        let report = ImageChecker.check(image)
        #expect(report.isClean && report.warningCount == 0, "\(name): \(report.diagnostics.prefix(3))")
        #expect(report.blockSizeSource == "detected")

        let out = tree.root + "/\(name).out"
        defer { removeTree(out) }
        let extraction = try ImageExtractor.extract(image, to: out)
        #expect(extraction.isClean, "\(name): \(extraction.diagnostics.prefix(3))")
        #expect(try snapshotTree(out) == snapshotTree(tree.source), "\(name): extraction differs from the tree")

        let predicted = try XIPAnalysis.analyze(image)
        let truth = try XIPAnalysis.analyze(try CramfsImage(path: path, blockSize: blockSize))
        #expect(predicted.files == truth.files && predicted.pageSize == blockSize, "\(name): XIP prediction differs")
        // The layout was exercised: pages the kernel maps (8-byte -X blocks map only without an MMU).
        if layout != .plain && layout != .elf8 { #expect(truth.directPages > 0, "\(name): nothing maps directly") }
        if layout == .elf8 {
          let elf = try image.lookup("/usr/bin/elf32-\(ByteOrder.host)")
          #expect(try image.blockLocations(of: elf).contains { $0.pointer.isDirect }, "\(name): no direct block")
        }
      }
    }
  }

  /// util-linux mkfs.cramfs images of 16 and 64 KiB blocks, in both byte orders, as before.
  @Test(arguments: [16384, 65536], ["big", "little"])
  func referenceImagesAreDetected(blockSize: Int, order: String) throws {
    let tree = try DetectionTree()
    defer { tree.remove() }
    let path = tree.root + "/mkfs-\(blockSize)-\(order).img"
    try UtilLinuxCramfs.makeImage(["-b", String(blockSize), "-N", order], source: tree.source, image: path)
    defer { unlink(path) }
    let image = try CramfsImage(path: path)
    #expect(image.blockSizeDetection.method == .detected)
    #expect(image.blockSize == blockSize)
    #expect(ImageChecker.check(image).isClean)
  }

  /// Only tiny files (each at most one block of any size), with and without XIP: every size fits, the
  /// choice cannot change a byte read, and an XIP prediction is given only where every size agrees.
  @Test(arguments: [4096, 16384, 65536])
  func tinyFilesReadRightWhateverTheSize(blockSize: Int) throws {
    let root = try makeTemporaryDirectory("tiny")
    defer { removeTree(root) }
    var rng = SeededGenerator(seed: UInt64(blockSize))
    try FileManager.default.createDirectory(atPath: root + "/src/d", withIntermediateDirectories: true)
    for (index, size) in [1, 100, 2000, 4095, 4096].enumerated() {
      try put(root + "/src/f\(index)", rng.bytes(size))
    }
    try put(root + "/src/d/x", "x\n".utf8)
    for xip in [false, true] {
      var options = BuildOptions()
      options.blockSize = blockSize
      if xip { options.xipPatterns = ["*"] }
      let path = root + "/image-\(xip)"
      _ = try ImageBuilder.build(from: root + "/src", to: path, options: options)
      let image = try CramfsImage(path: path)
      #expect(image.blockSizeDetection.method == .irrelevant, "\(image.blockSizeDetection.summary)")
      #expect(image.blockSizeDetection.contenders.contains(blockSize))
      let out = root + "/out-\(xip)"
      _ = try ImageExtractor.extract(image, to: out)
      #expect(try snapshotTree(out) == snapshotTree(root + "/src"))
      #expect(ImageChecker.check(image).isClean)
      // The prediction under the true size, or a refusal: never a different answer.
      let truth = try XIPAnalysis.analyze(try CramfsImage(path: path, blockSize: blockSize))
      do {
        let predicted = try XIPAnalysis.analyze(image)
        #expect(predicted.files.map(\.directPages) == truth.files.map(\.directPages))
      } catch {
        #expect(error.code == .ambiguousBlockSize)
      }
    }
  }

  /// Images of nothing but direct blocks: whole-file XIP of files that are exact multiples of every page
  /// size, the case where block 0 alone fits every candidate.
  @Test(arguments: [4096, 16384, 65536])
  func onlyDirectBlocksAreDetected(blockSize: Int) throws {
    let root = try makeTemporaryDirectory("direct")
    defer { removeTree(root) }
    var rng = SeededGenerator(seed: 7)
    try FileManager.default.createDirectory(atPath: root + "/src", withIntermediateDirectories: true)
    for (index, size) in [65_536, 131_072, 196_608].enumerated() {
      try put(root + "/src/f\(index)", rng.bytes(size))
    }
    for guard_ in [true, false] {
      var options = BuildOptions()
      options.blockSize = blockSize
      options.xipPatterns = ["*"]
      options.readBugGuard = guard_
      let path = root + "/image-\(guard_)"
      _ = try ImageBuilder.build(from: root + "/src", to: path, options: options)
      let image = try CramfsImage(path: path)
      #expect(image.blockSizeDetection.method == .detected && image.blockSize == blockSize, "\(image.blockSizeDetection.summary)")
      let out = root + "/out-\(guard_)"
      _ = try ImageExtractor.extract(image, to: out)
      #expect(try snapshotTree(out) == snapshotTree(root + "/src"))
    }
  }

  /// An image damaged the same way under every size (a file's table points past the end): the data
  /// cannot decide, so reading that file refuses and asks for the block size, while the small file still
  /// reads; the checker says it could not decide and still names the damage.
  @Test func damageThatNoSizeExplainsRefusesToGuess() throws {
    let root = try makeTemporaryDirectory("undecided")
    defer { removeTree(root) }
    try FileManager.default.createDirectory(atPath: root + "/src", withIntermediateDirectories: true)
    var rng = SeededGenerator(seed: 3)
    try put(root + "/src/big", rng.bytes(100_000))
    try put(root + "/src/small", "small\n".utf8)
    let path = root + "/image"
    _ = try ImageBuilder.build(from: root + "/src", to: path, options: BuildOptions())
    var bytes = try readBytes(path)
    let good = try CramfsImage(bytes: bytes)
    let big = try good.lookup("/big")
    // Point big's table far past the end (offset field of its inode, little-endian host image).
    let word = big.entryOffset + 8
    var w2 = UInt32(bytes[word]) | UInt32(bytes[word + 1]) << 8 | UInt32(bytes[word + 2]) << 16 | UInt32(bytes[word + 3]) << 24
    w2 = (w2 & 0x3F) | (UInt32(0x3F0_0000) << 6)
    for i in 0..<4 { bytes[word + i] = UInt8(truncatingIfNeeded: w2 >> (8 * UInt32(i))) }

    let image = try CramfsImage(bytes: bytes)
    #expect(image.blockSizeDetection.method == .undecided, "\(image.blockSizeDetection.summary)")
    #expect(throws: CramfsError.self) { try image.contents(of: try image.lookup("/big")) }
    do {
      _ = try image.contents(of: try image.lookup("/big"))
    } catch {
      #expect(error.code == .ambiguousBlockSize)
    }
    #expect(try image.contents(of: try image.lookup("/small")) == Array("small\n".utf8))
    let report = ImageChecker.check(bytes: bytes)
    #expect(report.warnings.map(\.code) == [.ambiguousBlockSize])
    #expect(report.errors.contains { $0.code == .pointerTableOutOfRange || $0.path == "/big" }, "\(report.diagnostics)")
    let given = ImageChecker.check(bytes: bytes, options: CheckOptions(blockSize: 4096))
    #expect(!given.isClean && !given.diagnostics.contains { $0.code == .ambiguousBlockSize })
  }
}

