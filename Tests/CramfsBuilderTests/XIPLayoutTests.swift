import CramfsTestSupport
import Foundation
import Testing

@testable import Cramfs

#if canImport(Glibc)
  import Glibc
#endif

/// A source tree in a scratch directory, built into `image`.
private struct XIPScratch {
  let path: String
  init(_ name: String) throws {
    path = try makeTemporaryDirectory(name)
    try FileManager.default.createDirectory(
      atPath: path + "/src", withIntermediateDirectories: true)
  }
  var source: String { path + "/src" }
  var image: String { path + "/image.cramfs" }
  func write(_ relative: String, _ bytes: [UInt8]) throws {
    let full = source + "/" + relative
    try FileManager.default.createDirectory(
      atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    guard FileManager.default.createFile(atPath: full, contents: Data(bytes)) else {
      throw GeneratorError("cannot write \(full)")
    }
  }
  func remove() { removeTree(path) }
}

/// What the data area of an image holds, found from its pointer tables alone: every gap right before a
/// direct block is XIP padding; every other gap must be the classic padding to 4 before a table.
private func measuredXIPPadding(_ image: CramfsImage) throws -> Int {
  struct Region {
    var start: Int
    var end: Int
    var isDirect: Bool
    var isTable: Bool
  }
  var regions: [Region] = []
  var seen = Set<Int>()
  try image.walk { (_, node) throws(CramfsError) in
    guard node.type == .regular || node.type == .symlink, node.hasData,
      seen.insert(node.inode.byteOffset).inserted
    else { return }
    let table = node.inode.byteOffset
    let count = node.blockCount(blockSize: image.blockSize)
    regions.append(Region(start: table, end: table + 4 * count, isDirect: false, isTable: true))
    for location in try image.blockLocations(of: node) {
      let pointer = location.pointer
      let prefix = location.kind == .directCompressed ? 2 : 0
      let end = location.end
      guard end > location.start else { continue }
      regions.append(
        Region(start: location.start - prefix, end: end, isDirect: pointer.isDirect, isTable: false)
      )
    }
  }
  regions.sort { ($0.start, $0.end) < ($1.start, $1.end) }
  var padding = 0
  var end = regions.first?.start ?? 0
  for region in regions {
    let gap = region.start - end
    #expect(gap >= 0, "regions overlap at 0x\(String(region.start, radix: 16))")
    if region.isDirect {
      padding += gap
    } else if gap > 0 {
      #expect(region.isTable && gap == (4 - end % 4) % 4, "unexpected gap of \(gap) bytes")
    }
    end = max(end, region.end)
  }
  return padding
}

/// The checker's errors (warnings allowed), as text for messages.
private func checkErrors(_ path: String, blockSize: Int) throws -> [String] {
  let report = try ImageChecker.check(path: path, options: CheckOptions(blockSize: blockSize))
  return report.errors.map { "\($0.code): \($0.message) \($0.path ?? "")" }
}

@Suite("XIP layouts")
struct XIPLayoutTests {
  static let sizes = [1, 4095, 4096, 4097, 3 * 4096, 3 * 4096 + 5]

  /// Whole-file XIP: matched files map whole (exact multiples keep their last page non-direct unless
  /// the guard is off), the rest stays compressed, everything reads back, and `check` is clean.
  @Test(
    "--xip maps matched files whole", arguments: [4096, 16384, 65536], [true, false])
  func wholeFiles(blockSize: Int, guardOn: Bool) throws {
    let scratch = try XIPScratch("xip-whole")
    defer { scratch.remove() }
    var random = SeededGenerator(seed: TestSeed.value(0x51A5) &+ UInt64(blockSize))
    var contents: [String: [UInt8]] = [:]
    let sizes = Array(Set(Self.sizes + [blockSize, 3 * blockSize])).sorted()
    for size in sizes {
      for directory in ["bin", "data"] {
        // Text-like halves make blocks compressible, so "stays compressed" means something.
        var bytes = [UInt8](directory.utf8.prefix(1)) + random.bytes(size / 2)
        bytes += [UInt8](repeating: UInt8(ascii: "a") + UInt8(size % 26), count: size)
        bytes.removeLast(bytes.count - size)
        let path = "/\(directory)/f-\(size)"
        contents[path] = bytes
        try scratch.write(String(path.dropFirst()), bytes)
      }
    }
    var options = BuildOptions()
    options.blockSize = blockSize
    options.xipPatterns = ["/bin/*"]
    options.readBugGuard = guardOn
    options.jobs = 2
    let report = try ImageBuilder.build(from: scratch.source, to: scratch.image, options: options)
    let image = try CramfsImage(path: scratch.image, blockSize: blockSize)
    #expect(image.superblock.flags.contains(.extendedBlockPointers))
    let xip = try XIPAnalysis.analyze(image)
    var expectedGuarded: [String] = []
    for file in xip.files {
      let node = try image.lookup(file.path)
      let data = try image.contents(of: node)
      let exactMultiple = file.size % blockSize == 0
      if file.path.hasPrefix("/bin/") {
        if exactMultiple && guardOn {
          expectedGuarded.append(file.path)
          #expect(file.reason == .readBugGuard, "\(file.path)")
          #expect(file.directPages == file.pages - 1, "\(file.path)")
          #expect(
            file.mappingClass == (file.pages > 1 ? .partial : MappingClass.none), "\(file.path)")
        } else {
          #expect(file.mappingClass == .whole, "\(file.path): \(file)")
          #expect(file.directOffset.map { $0 % blockSize } == 0)
        }
        if exactMultiple && !guardOn {
          // The kernel's read() defect: it returns zeros for the full direct last page (our reader, like
          // mmap, returns the data).
          let last = try image.location(of: node, block: file.pages - 1)
          #expect(last.kind == .directUncompressedFullLastPage && last.kind.readsAsZeros)
          #expect(last.length == blockSize)
        }
      } else {
        #expect(file.mappingClass == MappingClass.none, "\(file.path)")
        #expect(
          try image.blockLocations(of: node).allSatisfy { $0.kind == .compressed }, "\(file.path)")
      }
      #expect(data == contents[file.path], "\(file.path) reads back different")
    }
    #expect(report.readBugGuardFiles.sorted() == expectedGuarded.sorted())
    #expect(
      report.warnings.filter { $0.kind == .readBugGuard }.count == expectedGuarded.count)
    #expect(report.xipFiles == sizes.filter { !(guardOn && $0 == blockSize) }.count)
    #expect(try checkErrors(scratch.image, blockSize: blockSize) == [])
    let checked = try ImageChecker.check(
      path: scratch.image, options: CheckOptions(blockSize: blockSize))
    let zeroWarnings = checked.warnings.filter { $0.code == .directLastBlockReadsAsZeros }
    #expect(zeroWarnings.count == (guardOn ? 0 : sizes.filter { $0 % blockSize == 0 }.count))
    #expect(try measuredXIPPadding(image) == report.xipPaddingBytes)
  }

  /// Images with XIP are the same for every job count, and without XIP options nothing changes.
  @Test("--xip and -X output is the same for every --jobs")
  func reproducible() throws {
    let tree = BuilderFixtures.shared.tree(.generatedC)
    var options = BuildOptions()
    options.xipPatterns = ["*/random-*", "*text-4097"]
    options.jobs = 1
    let serial = try buildImage(tree.root, options)
    options.jobs = 3
    let parallel = try buildImage(tree.root, options)
    #expect(serial == parallel, "\(firstDifference(serial, parallel)); \(tree.replayHint)")
    options.xipPatterns = []
    let plain = try buildImage(tree.root, options)
    options.xipELF = .page  // no ELF files in the tree: the same bytes as without -X
    #expect(try buildImage(tree.root, options) == plain)
  }

  /// Segments, in units of the block size B plus a few bytes, so that no offset or size is aligned.
  static func segments(blockSize b: Int, firstIsText: Bool) -> (length: Int, [ELFWriter.Segment]) {
    var segments: [ELFWriter.Segment] = []
    if firstIsText {
      segments.append(.init(flags: ELFWriter.Segment.readExecute, offset: 0, fileSize: 3 * b + 100))
    } else {
      // Text starts in block 1: block 0 (headers) stays compressed before a direct block.
      segments.append(
        .init(flags: ELFWriter.Segment.readExecute, offset: b + 200, fileSize: 2 * b + 100))
    }
    segments.append(.init(flags: ELFWriter.Segment.readOnly, offset: 5 * b + 300, fileSize: b + 50))
    segments.append(.init(flags: ELFWriter.Segment.readWrite, offset: 7 * b + 10, fileSize: 2 * b))
    // A non-loadable read-only segment (PT_NOTE) must not count.
    segments.append(
      .init(flags: ELFWriter.Segment.readOnly, offset: 4 * b + 8, fileSize: 64, type: 4))
    return (9 * b + 123, segments)
  }

  /// `-X`: blocks overlapping read-only `PT_LOAD` file ranges are direct + uncompressed, aligned to 8
  /// or to the page; the others stay compressed; everything reads back and checks clean.
  @Test(
    "-X stores read-only PT_LOAD blocks direct", arguments: [XIPAlignment.eightBytes, .page],
    [4096, 16384])
  func elfSegments(alignment: XIPAlignment, blockSize: Int) throws {
    let scratch = try XIPScratch("xip-elf")
    defer { scratch.remove() }
    var files: [String: (bytes: [UInt8], segments: [ELFWriter.Segment])] = [:]
    var seed = TestSeed.value(0xE1F)
    for (name, writer) in [
      ("elf64le", ELFWriter(is64Bit: true, byteOrder: .little)),
      ("elf32be", ELFWriter(is64Bit: false, byteOrder: .big)),
    ] {
      for firstIsText in [true, false] {
        let (length, segments) = Self.segments(blockSize: blockSize, firstIsText: firstIsText)
        seed &+= 1
        let bytes = writer.file(length: length, segments: segments, seed: seed)
        let path = "/bin/\(name)-\(firstIsText ? "a" : "b")"
        files[path] = (bytes, segments)
        try scratch.write(String(path.dropFirst()), bytes)
      }
    }
    // An exact multiple of the block size whose last block is read-only: the guard keeps it non-direct.
    let exact = ELFWriter(is64Bit: true, byteOrder: .little)
    let exactSegments = [
      ELFWriter.Segment(flags: ELFWriter.Segment.readExecute, offset: 0, fileSize: 2 * blockSize)
    ]
    files["/bin/exact"] = (
      exact.file(length: 2 * blockSize, segments: exactSegments, seed: 7), exactSegments
    )
    try scratch.write("bin/exact", files["/bin/exact"]!.bytes)
    // Not ELF, and ELF with only a writable segment: both stay compressed.
    let text = [UInt8](String(repeating: "not an elf file ", count: 900).utf8)
    files["/etc/text"] = (text, [])
    try scratch.write("etc/text", text)
    let writableOnly = [
      ELFWriter.Segment(flags: ELFWriter.Segment.readWrite, offset: 0, fileSize: 5000)
    ]
    files["/lib/rw"] = (exact.file(length: 6000, segments: writableOnly, seed: 9), writableOnly)
    try scratch.write("lib/rw", files["/lib/rw"]!.bytes)

    var options = BuildOptions()
    options.blockSize = blockSize
    options.xipELF = alignment
    options.byteOrder = .big
    let report = try ImageBuilder.build(from: scratch.source, to: scratch.image, options: options)
    let image = try CramfsImage(path: scratch.image, blockSize: blockSize)
    let align = alignment.bytes(blockSize: blockSize)
    var directStarts: [Int] = []
    for (path, file) in files {
      let node = try image.lookup(path)
      #expect(try image.contents(of: node) == file.bytes, "\(path) reads back different")
      let locations = try image.blockLocations(of: node)
      for (index, location) in locations.enumerated() {
        let range = index * blockSize..<min((index + 1) * blockSize, file.bytes.count)
        let readOnly = file.segments.contains {
          $0.isReadOnlyLoad && range.overlaps($0.offset..<($0.offset + $0.fileSize))
        }
        let isGuard = index == locations.count - 1 && file.bytes.count % blockSize == 0
        if readOnly && !isGuard {
          #expect(location.kind == .directUncompressed, "\(path) block \(index): \(location.kind)")
          #expect(location.start % align == 0, "\(path) block \(index) at \(location.start)")
          directStarts.append(location.start)
        } else if readOnly {
          #expect(location.kind == .uncompressed && !location.pointer.isDirect, "\(path) guard")
        } else {
          #expect(
            location.kind == .compressed || location.kind == .directCompressed,
            "\(path) block \(index): \(location.kind)")
        }
      }
    }
    #expect(directStarts.count == report.directBlocks)
    if alignment == .eightBytes {
      #expect(
        directStarts.contains { $0 % blockSize != 0 }, "every 8-aligned block is page aligned")
    }
    #expect(report.readBugGuardFiles == ["/bin/exact"])
    #expect(report.directCompressedBlocks > 0)
    #expect(try checkErrors(scratch.image, blockSize: blockSize) == [])
    #expect(try measuredXIPPadding(image) == report.xipPaddingBytes)
  }

  /// 64 KiB blocks of random data do not deflate below 65536 bytes, so a compressed block after a
  /// direct one cannot be direct compressed (u16 length): it is stored direct uncompressed, or right after
  /// the XIP page when it is a full last block.
  @Test("-X with 64 KiB incompressible blocks", arguments: [0, 100])
  func incompressibleAfterDirect(tail: Int) throws {
    let scratch = try XIPScratch("xip-64k")
    defer { scratch.remove() }
    let b = 65536
    let segments = [
      ELFWriter.Segment(flags: ELFWriter.Segment.readExecute, offset: 0, fileSize: b + 10),
      ELFWriter.Segment(flags: ELFWriter.Segment.readWrite, offset: 2 * b, fileSize: b + tail),
    ]
    let writer = ELFWriter(is64Bit: false, byteOrder: .little)
    var random = SeededGenerator(seed: 3)
    var bytes = random.bytes(3 * b + tail)
    let header = writer.header(segments: segments)
    bytes.replaceSubrange(0..<header.count, with: header)
    try scratch.write("prog", bytes)
    var options = BuildOptions()
    options.blockSize = b
    options.xipELF = .page
    let report = try ImageBuilder.build(from: scratch.source, to: scratch.image, options: options)
    let image = try CramfsImage(path: scratch.image, blockSize: b)
    let node = try image.lookup("/prog")
    #expect(try image.contents(of: node) == bytes)
    let kinds = try image.blockLocations(of: node).map(\.kind)
    #expect(Array(kinds[0..<2]) == [.directUncompressed, .directUncompressed])
    #expect(kinds[2] == (tail == 0 ? .uncompressed : .directUncompressed))
    #expect(try checkErrors(scratch.image, blockSize: b) == [])
    #expect(try measuredXIPPadding(image) == report.xipPaddingBytes)
  }

  @Test("ELF headers: both classes and byte orders; garbage is not ELF")
  func elfParsing() throws {
    for (is64Bit, order) in [
      (true, ByteOrder.little), (false, .big), (true, .big), (false, .little),
    ] {
      let segments = [
        ELFWriter.Segment(flags: 5, offset: 0, fileSize: 5000),
        ELFWriter.Segment(flags: 6, offset: 9000, fileSize: 100),
      ]
      let bytes = ELFWriter(is64Bit: is64Bit, byteOrder: order).header(segments: segments)
      let header = try #require(ELFHeader(parsing: Array(bytes.prefix(64))))
      #expect(header.is64Bit == is64Bit && header.byteOrder == order)
      let table = Array(bytes[header.programHeaderOffset...])
      let parsed = header.programHeaders(in: table)
      #expect(parsed.map(\.offset) == [0, 9000])
      #expect(parsed.map(\.fileSize) == [5000, 100])
      #expect(parsed.map(\.isReadOnlyLoad) == [true, false])
      #expect(parsed[0].blocks(blockSize: 4096, fileLength: 20000) == 0..<2)
      #expect(parsed[1].blocks(blockSize: 4096, fileLength: 9050) == 2..<3)
    }
    #expect(ELFHeader(parsing: [UInt8](repeating: 0x7F, count: 64)) == nil)
    var bad = ELFWriter(is64Bit: true, byteOrder: .little).header(segments: [])
    bad[4] = 3  // unknown class
    #expect(ELFHeader(parsing: bad) == nil)
  }

  /// The padding an example pays, for the record (printed), and that page-aligned XIP is packed tight:
  /// no more than the area's start plus the zeroed tails of partial last pages.
  @Test("padding is paid once per area plus page tails")
  func paddingIsBounded() throws {
    let tree = BuilderFixtures.shared.tree(.generatedA)
    let scratch = try XIPScratch("xip-pad")
    defer { scratch.remove() }
    var options = BuildOptions()
    options.xipPatterns = ["/sizes/*"]
    let report = try ImageBuilder.build(from: tree.root, to: scratch.image, options: options)
    let image = try CramfsImage(path: scratch.image, blockSize: 4096)
    let xip = try XIPAnalysis.analyze(image)
    let tails = xip.files.filter { $0.path.hasPrefix("/sizes/") && $0.size % 4096 != 0 }.map {
      4096 - $0.size % 4096
    }
    #expect(report.xipPaddingBytes < 4096 + tails.reduce(0, +))
    #expect(try measuredXIPPadding(image) == report.xipPaddingBytes)
    #expect(try checkErrors(scratch.image, blockSize: 4096) == [])
    print(
      "XIP example (generatedA, --xip '/sizes/*'): \(report.xipFiles) files, \(report.directBlocks) "
        + "direct blocks, \(report.xipPaddingBytes) bytes of padding (partial last pages leave "
        + "\(tails.reduce(0, +)) bytes of zeroed tails in all), \(report.readBugGuardFiles.count) guarded, "
        + "image \(report.imageSize) bytes")
  }

  /// A big XIP build runs in bounded memory: the image (about 100 MiB) is streamed, not buffered.
  @Test("a 100 MiB XIP image is built in bounded memory")
  func boundedMemory() throws {
    let scratch = try XIPScratch("xip-big")
    defer { scratch.remove() }
    for index in 0..<6 {
      // Sparse files: cheap to make, read as zeros, stored verbatim by --xip.
      let path = scratch.source + "/big-\(index)"
      let fd = open(path, O_CREAT | O_WRONLY, 0o644)
      #expect(fd >= 0)
      #expect(ftruncate(fd, off_t(16 * 1024 * 1024 - 1 - index)) == 0)
      close(fd)
    }
    let binary = builtProductsDirectory() + "/cramfs"
    let result = try runProcess(
      "/usr/bin/time",
      ["-f", "maxrss %M", binary, "make", "--xip", "*", "-j", "2", scratch.source, scratch.image])
    #expect(result.status == 0, "\(result.standardError)")
    let line = result.standardError.split(separator: "\n").first { $0.hasPrefix("maxrss ") }
    let kilobytes = Int(line?.dropFirst(7) ?? "") ?? Int.max
    #expect(kilobytes < 60 * 1024, "peak RSS \(kilobytes) KiB for a 100 MiB image")
    let image = try CramfsImage(path: scratch.image, blockSize: 4096)
    #expect(try XIPAnalysis.analyze(image).files.allSatisfy { $0.mappingClass == .whole })
  }

  /// The command line: `-X -X` and `--xip-elf page` are the same, `-X` with `--xip-elf` is a usage error,
  /// `-v` reports the padding, guard pages are warnings, and `cramfs check` passes the image.
  @Test("mkcramfs -X -X, --xip-elf, --xip and cramfs check")
  func commandLine() throws {
    let scratch = try XIPScratch("xip-cli")
    defer { scratch.remove() }
    let b = 4096
    let (length, segments) = Self.segments(blockSize: b, firstIsText: true)
    let writer = ELFWriter(is64Bit: false, byteOrder: .little)
    try scratch.write("bin/prog", writer.file(length: length, segments: segments, seed: 11))
    try scratch.write("lib/exact.so.1", [UInt8](repeating: 0x5A, count: 2 * b))
    let bin = builtProductsDirectory()
    let first = try runProcess(
      bin + "/mkcramfs",
      ["-X", "-X", "--xip", "*.so*", "-v", scratch.source, scratch.path + "/a.img"])
    #expect(first.status == 0, "\(first.standardError)")
    // Once: the library's log keeps to mkfs.cramfs's lines, the tool prints the XIP summary.
    #expect(
      first.standardOutput.components(separatedBy: "XIP: 2 files, 7 direct blocks, ").count == 2, "\(first.standardOutput)")
    #expect(first.standardError.contains("warning:") && first.standardError.contains("exact.so.1"))
    let second = try runProcess(
      bin + "/cramfs",
      ["make", "--xip-elf", "page", "--xip", "*.so*", scratch.source, scratch.path + "/b.img"])
    #expect(second.status == 0, "\(second.standardError)")
    #expect(try readBytes(scratch.path + "/a.img") == readBytes(scratch.path + "/b.img"))
    let conflict = try runProcess(
      bin + "/mkcramfs", ["-X", "--xip-elf", "8", scratch.source, scratch.path + "/c.img"])
    #expect(conflict.status == 16)
    let bad = try runProcess(
      bin + "/cramfs", ["make", "--xip-elf", "4", scratch.source, scratch.path + "/c.img"])
    #expect(bad.status == 16)
    let check = try runProcess(bin + "/cramfs", ["check", scratch.path + "/a.img"])
    #expect(check.status == 0, "\(check.standardOutput)\(check.standardError)")
  }
}
