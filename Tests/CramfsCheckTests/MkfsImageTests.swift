import Cramfs
import CramfsTestSupport
import Foundation
import Testing

/// Images written by util-linux `mkfs.cramfs` in every option combination: they must check clean and
/// extract to exactly their source trees, the same as `fsck.cramfs --extract` extracts them.
@Suite(.serialized) struct MkfsImageTests {
  struct Variant: Sendable, CustomTestStringConvertible {
    var name: String
    var arguments: [String]
    var blockSize: Int
    /// util-linux `fsck.cramfs` accepts only flags 0xff: not holes (-z) nor an inserted file (-i).
    var fsckCanExtract: Bool
    var insertsFile = false
    var testDescription: String { name }
  }

  static let variants: [Variant] = [
    Variant(name: "little", arguments: ["-N", "little"], blockSize: 4096, fsckCanExtract: true),
    Variant(name: "big", arguments: ["-N", "big"], blockSize: 4096, fsckCanExtract: true),
    Variant(name: "little-pad", arguments: ["-N", "little", "-p"], blockSize: 4096, fsckCanExtract: true),
    Variant(name: "big-pad", arguments: ["-N", "big", "-p"], blockSize: 4096, fsckCanExtract: true),
    Variant(name: "16k", arguments: ["-b", "16384"], blockSize: 16384, fsckCanExtract: true),
    Variant(name: "64k-big", arguments: ["-N", "big", "-b", "65536"], blockSize: 65536, fsckCanExtract: true),
    Variant(name: "holes", arguments: ["-z"], blockSize: 4096, fsckCanExtract: false),
    Variant(name: "holes-big-pad-16k", arguments: ["-z", "-N", "big", "-p", "-b", "16384"], blockSize: 16384, fsckCanExtract: false),
    Variant(name: "insert", arguments: [], blockSize: 4096, fsckCanExtract: false, insertsFile: true),
    Variant(name: "edition-name", arguments: ["-e", "42", "-n", "volume-name"], blockSize: 4096, fsckCanExtract: true),
  ]

  /// One generated source tree for all variants.
  static let source: (directory: TemporaryDirectory, tree: String) = {
    let directory = try! TemporaryDirectory()
    var generator = TreeGenerator(seed: TestSeed.value(0xC4EC_C0DE))
    generator.options.randomFiles = 30
    let tree = try! generator.generate(at: directory.file("tree"))
    return (directory, tree.root)
  }()

  @Test(arguments: variants)
  func checksCleanAndExtractsTheSourceTree(variant: Variant) throws {
    let work = try TemporaryDirectory()
    let image = work.file("image.cramfs")
    var arguments = variant.arguments
    if variant.insertsFile {
      let insert = work.file("boot.bin")
      try Data((0..<1234).map { UInt8($0 % 251) }).write(to: URL(fileURLWithPath: insert))
      arguments += ["-i", insert]
    }
    try UtilLinuxCramfs.makeImage(arguments, source: Self.source.tree, image: image)

    let report = try ImageChecker.check(path: image)
    #expect(report.diagnostics.isEmpty, "\(report.diagnostics)")
    #expect(report.blockSize == variant.blockSize)
    #expect(report.blocksVerified > 100)

    let opened = try CramfsImage(path: image)
    let ours = work.file("ours")
    let extraction = try ImageExtractor.extract(opened, to: ours)
    #expect(extraction.diagnostics.isEmpty, "\(extraction.diagnostics)")
    let expected = try TreeSnapshot(Self.source.tree)
    let extracted = try TreeSnapshot(ours)
    #expect(extracted == expected, "\(extracted.differences(from: expected).prefix(20).joined(separator: "\n"))")
    #expect(expected.entries.count > 200)

    if variant.fsckCanExtract {
      let theirs = work.file("theirs")
      try Tools.succeed(UtilLinuxCramfs.fsck, ["-b", String(variant.blockSize), "--extract=\(theirs)", image])
      let reference = try TreeSnapshot(theirs)
      #expect(extracted == reference, "\(extracted.differences(from: reference).prefix(20).joined(separator: "\n"))")
    }
  }

  @Test func cramfsckAndCheckCommandsAcceptMkfsOutput() throws {
    let work = try TemporaryDirectory()
    let image = work.file("image.cramfs")
    try UtilLinuxCramfs.makeImage(["-N", "big", "-p"], source: Self.source.tree, image: image)
    let check = try Tools.run(try Tools.binary("cramfs"), ["check", image])
    #expect(check.status == 0 && check.standardError.isEmpty, "\(check.standardError)")
    #expect(check.standardOutput == "\(image): OK\n")
    let quiet = try Tools.run(try Tools.binary("cramfsck"), [image])
    #expect(quiet.status == 0 && quiet.standardOutput.isEmpty && quiet.standardError.isEmpty)
    let verbose = try Tools.run(try Tools.binary("cramfsck"), ["-v", image])
    #expect(verbose.status == 0 && verbose.standardOutput == "cramfs endianness is big\n\(image): OK\n")
    let json = try Tools.run(try Tools.binary("cramfs"), ["check", "--json", image])
    #expect(json.status == 0)
    let decoded = try JSONSerialization.jsonObject(with: json.standardOutputData) as? [String: Any]
    #expect(decoded?["clean"] as? Bool == true)
    #expect(decoded?["byteOrder"] as? String == "big")
    #expect(decoded?["superblockOffset"] as? Int == 512)

    // Both extract spellings of cramfsck, and `cramfs extract`, give the source tree.
    let expected = try TreeSnapshot(Self.source.tree)
    for (index, arguments) in [["--extract=\(work.file("a"))", image], ["-x", work.file("b"), image], ["extract", image, work.file("c")]].enumerated() {
      let binary = index == 2 ? try Tools.binary("cramfs") : try Tools.binary("cramfsck")
      let result = try Tools.run(binary, arguments)
      #expect(result.status == 0 && result.standardError.isEmpty, "\(arguments): \(result.standardError)")
      let directory = work.file(["a", "b", "c"][index])
      #expect(try TreeSnapshot(directory) == expected)
    }
  }

  /// With few directory descriptors allowed open, and on one thread, the result is the same.
  @Test(arguments: [(1, 3), (2, 2), (4, 50)])
  func boundedDescriptorsAndThreads(threads: Int, maxOpen: Int) throws {
    let work = try TemporaryDirectory()
    let image = work.file("image.cramfs")
    try UtilLinuxCramfs.makeImage([], source: Self.source.tree, image: image)
    let options = ExtractOptions(threads: threads, maxOpenDirectories: maxOpen)
    let report = try ImageExtractor.extract(try CramfsImage(path: image), to: work.file("out"), options: options)
    #expect(report.diagnostics.isEmpty, "\(report.diagnostics)")
    let expected = try TreeSnapshot(Self.source.tree)
    let extracted = try TreeSnapshot(work.file("out"))
    #expect(extracted == expected, "\(extracted.differences(from: expected).prefix(20).joined(separator: "\n"))")
  }
}
