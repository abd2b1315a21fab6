import Cramfs
import CramfsTestSupport
import Foundation
import Testing

/// The block size through the binaries: what `info` says, and the one-line refusals when the data does not
/// decide it.
@Suite("block size")
struct BlockSizeCLITests {
  /// A tree with a 100,000-byte file and a small one, built with 4 KiB blocks.
  private static func build(xip: Bool, blockSize: Int, in root: String) throws -> String {
    try FileManager.default.createDirectory(atPath: root + "/src", withIntermediateDirectories: true)
    var rng = SeededGenerator(seed: 99)
    let elf = ELFWriter(is64Bit: false, byteOrder: .big).file(
      length: 100_000, segments: [ELFWriter.Segment(flags: ELFWriter.Segment.readExecute, offset: 0, fileSize: 80_000)], seed: rng.next())
    guard FileManager.default.createFile(atPath: root + "/src/big", contents: Data(elf)),
      FileManager.default.createFile(atPath: root + "/src/small", contents: Data("small\n".utf8))
    else { throw GeneratorError("cannot write the tree") }
    var options = BuildOptions()
    options.blockSize = blockSize
    if xip { options.xipELF = .page }
    let image = root + "/image"
    _ = try ImageBuilder.build(from: root + "/src", to: image, options: options)
    return image
  }

  /// A 64 KiB `-X -X` image: detected, checked clean, predicted with 64 KiB pages.
  @Test func xipImageOfLargePagesIsDetected() throws {
    let root = try makeTemporaryDirectory("cli-bs")
    defer { removeTree(root) }
    let image = try Self.build(xip: true, blockSize: 65536, in: root)
    let info = try JSONSerialization.jsonObject(with: Data(try CLI.succeed(["info", "--json", image]).standardOutput.utf8)) as? [String: Any]
    #expect(info?["blockSize"] as? Int == 65536)
    #expect(info?["blockSizeSource"] as? String == "detected")
    _ = try CLI.succeed(["check", "-q", image])
    let xip = try JSONSerialization.jsonObject(with: Data(try CLI.succeed(["xip", "--json", image]).standardOutput.utf8)) as? [String: Any]
    #expect(xip?["pageSize"] as? Int == 65536)
    #expect(xip?["directPages"] as? Int == 2, "both 64 KiB pages overlap the read-only segment (bytes 0-80,000)")
  }

  /// The big file's table points past the end: every size fails the same way, so reading it refuses with
  /// one line asking for --block-size; given the size, the real damage is named instead.
  @Test func undecidedImageRefusesWithOneLine() throws {
    let root = try makeTemporaryDirectory("cli-bs")
    defer { removeTree(root) }
    let path = try Self.build(xip: false, blockSize: 4096, in: root)
    var bytes = try readBytes(path)
    let big = try CramfsImage(bytes: bytes).lookup("/big")
    let entry = big.entryOffset
    var moved = big.inode
    moved.offsetWords = 0x3F0_0000
    let words = moved.words(byteOrder: .host)
    var encoded = ByteWriter(byteOrder: .host)
    for word in [words.0, words.1, words.2] { encoded.append(word) }
    bytes.replaceSubrange(entry..<(entry + 12), with: encoded.bytes)
    try Data(bytes).write(to: URL(fileURLWithPath: path))

    try ErrorTests.expectOneLineError(["cat", path, "/big"], status: 8, mentioning: ["--block-size", "100000-byte file"])
    #expect(try CLI.succeed(["cat", path, "/small"]).standardOutput == "small\n")
    let info = try CLI.succeed(["info", "--json", path]).standardOutput
    #expect(info.contains("\"blockSizeSource\" : \"undecided\"") || info.contains("\"blockSizeSource\": \"undecided\""), "\(info)")
    let given = try CLI.run(["cat", "--block-size", "4096", path, "/big"])
    #expect(given.status == 8 && !given.standardError.contains("--block-size"), "\(given.standardError)")
    let extract = try CLI.run(["extract", path, root + "/out"])
    #expect(extract.status == 4)
    #expect(extract.standardError.contains("not extracted") && FileManager.default.fileExists(atPath: root + "/out/small"))
    #expect(!FileManager.default.fileExists(atPath: root + "/out/big"))
  }
}
