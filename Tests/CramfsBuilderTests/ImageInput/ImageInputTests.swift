import CramfsTestSupport
import Foundation
import Testing

@testable import Cramfs

/// A tree with ELF files (XIP candidates), a text file, an empty file and a symlink.
final class XIPTree: Sendable {
  static let shared: XIPTree = {
    do { return try XIPTree() } catch { fatalError("cannot make the XIP tree: \(error)") }
  }()

  let root: String

  private init() throws {
    root = try makeTemporaryDirectory("image-input-xip")
    atexit { removeTree(XIPTree.shared.root) }
    for directory in ["bin", "lib", "etc"] {
      try FileManager.default.createDirectory(atPath: root + "/" + directory, withIntermediateDirectories: true)
    }
    let writers = [ELFWriter(is64Bit: true, byteOrder: .little), ELFWriter(is64Bit: false, byteOrder: .big)]
    for (index, writer) in writers.enumerated() {
      let segments = [
        ELFWriter.Segment(flags: ELFWriter.Segment.readExecute, offset: 0, fileSize: 3 * 4096 + 100),
        ELFWriter.Segment(flags: ELFWriter.Segment.readOnly, offset: 5 * 4096 + 300, fileSize: 4096 + 50),
        ELFWriter.Segment(flags: ELFWriter.Segment.readWrite, offset: 7 * 4096 + 10, fileSize: 2 * 4096),
      ]
      let bytes = writer.file(length: 10 * 4096 + 77, segments: segments, seed: UInt64(index + 1))
      _ = FileManager.default.createFile(atPath: root + "/bin/elf\(index)", contents: Data(bytes))
      _ = FileManager.default.createFile(atPath: root + "/lib/copy\(index).so", contents: Data(bytes))
    }
    let text = String(repeating: "plain text, compressed as usual\n", count: 700)
    _ = FileManager.default.createFile(atPath: root + "/etc/text", contents: Data(text.utf8))
    _ = FileManager.default.createFile(atPath: root + "/etc/empty", contents: Data())
    symlink("../etc/text", root + "/bin/link")
  }
}

/// How the original image is made, and how it is rebuilt.
struct Conversion: Sendable, CustomTestStringConvertible {
  var name: String
  var xipTree: Bool
  var original: @Sendable (inout BuildOptions) -> Void
  var rebuilt: @Sendable (inout BuildOptions) -> Void
  var testDescription: String { name }

  static let all: [Conversion] = [
    Conversion(name: "little -> -N big", xipTree: false, original: { $0.byteOrder = .little }, rebuilt: { $0.byteOrder = .big }),
    Conversion(
      name: "big -p -b 16384 -> little", xipTree: false,
      original: { $0.byteOrder = .big; $0.padsBootSector = true; $0.blockSize = 16384 },
      rebuilt: { $0.byteOrder = .little }),
    Conversion(
      name: "-b 65536 -z -x -> -N big", xipTree: false,
      original: { $0.blockSize = 65536; $0.holes = true; $0.storeIncompressibleBlocks = true },
      rebuilt: { $0.byteOrder = .big }),
    Conversion(
      name: "--xip '/bin/*' -> --xip '/bin/*' -N big", xipTree: true,
      original: { $0.xipPatterns = ["/bin/*"]; $0.byteOrder = .little },
      rebuilt: { $0.xipPatterns = ["/bin/*"]; $0.byteOrder = .big }),
    Conversion(
      name: "-X -X -> -X -X -N big", xipTree: true, original: { $0.xipELF = .page },
      rebuilt: { $0.xipELF = .page; $0.byteOrder = .big }),
    Conversion(
      name: "-X -> -N big (XIP dropped)", xipTree: true, original: { $0.xipELF = .eightBytes },
      rebuilt: { $0.byteOrder = .big }),
    Conversion(
      name: "-N big -> -X -X -b 16384 (XIP added)", xipTree: true, original: { $0.byteOrder = .big },
      rebuilt: { $0.xipELF = .page; $0.blockSize = 16384 }),
  ]
}

@Suite("An image as input")
struct ImageInputTests {
  @Test("rebuilding an image equals building its tree with the new options", arguments: Conversion.all)
  func rebuildEqualsTree(_ conversion: Conversion) throws {
    let tree = conversion.xipTree ? XIPTree.shared.root : BuilderFixtures.shared.tree(.generatedA).root
    let scratch = try makeTemporaryDirectory("image-input")
    defer { removeTree(scratch) }
    var original = BuildOptions()
    conversion.original(&original)
    var rebuilt = BuildOptions()
    conversion.rebuilt(&rebuilt)
    try ImageBuilder.build(from: tree, to: scratch + "/original.img", options: original)
    try ImageBuilder.build(from: tree, to: scratch + "/expected.img", options: rebuilt)
    let input = try ImageInputs.detect(scratch + "/original.img")
    #expect(input is CramfsImageInput)
    try ImageBuilder.build(from: input, to: scratch + "/rebuilt.img", options: rebuilt)
    let expected = try readBytes(scratch + "/expected.img")
    let actual = try readBytes(scratch + "/rebuilt.img")
    #expect(actual == expected, "\(firstDifference(actual, expected))")
    let report = try ImageChecker.check(path: scratch + "/rebuilt.img")
    #expect(report.isClean, "\(report.errors)")
  }

  @Test("cramfs make --offset N reads an image inside a larger file")
  func offset() throws {
    let cramfs = try #require(builtExecutable("cramfs"))
    let tree = BuilderFixtures.shared.tree(.generatedC).root
    let scratch = try makeTemporaryDirectory("image-input-offset")
    defer { removeTree(scratch) }
    try shell(
      "\(cramfs) make -N little \(tree) \(scratch)/inner.img && \(cramfs) make -N big \(tree) \(scratch)/expected.img"
        + " && (head -c 1001 /dev/urandom; cat \(scratch)/inner.img; head -c 333 /dev/zero) > \(scratch)/blob"
        + " && \(cramfs) make --offset 1001 -N big \(scratch)/blob \(scratch)/rebuilt.img")
    #expect(try readBytes(scratch + "/rebuilt.img") == readBytes(scratch + "/expected.img"))
  }

  @Test("a damaged image is one line, exit 8, nothing written")
  func damaged() throws {
    let cramfs = try #require(builtExecutable("cramfs"))
    let tree = BuilderFixtures.shared.tree(.generatedA).root
    let scratch = try makeTemporaryDirectory("image-input-damaged")
    defer { removeTree(scratch) }
    try FileManager.default.createDirectory(atPath: scratch + "/out", withIntermediateDirectories: false)
    try ImageBuilder.build(from: tree, to: scratch + "/full.img", options: BuildOptions())
    let full = try readBytes(scratch + "/full.img")
    // Cut inside the data area, and a directory entry pointing far past the end.
    _ = FileManager.default.createFile(atPath: scratch + "/cut.img", contents: Data(full.prefix(full.count / 2)))
    var wild = full
    for offset in 76 + 8..<76 + 12 { wild[offset] = 0xFF }
    _ = FileManager.default.createFile(atPath: scratch + "/wild.img", contents: Data(wild))
    for name in ["cut.img", "wild.img"] {
      let result = try runProcess(cramfs, ["make", scratch + "/" + name, scratch + "/out/image"], timeout: 60)
      #expect(!result.crashed && !result.timedOut)
      #expect(result.status == 8, "\(name): \(result.standardError)")
      #expect(result.standardErrorLines.count == 1, "\(name): \(result.standardError)")
      #expect(try directoryListing(scratch + "/out").isEmpty)
    }
  }
}
