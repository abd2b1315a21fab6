import CramfsTestSupport
import Foundation
import Testing

@testable import Cramfs

/// The trees a round trip runs over.
enum RoundTripTree: String, CaseIterable, Sendable {
  /// Generated: sizes, holes, symlinks, owners, deep and wide directories (no special files).
  case generated
  /// Every entry type tar can carry, owners and devices included (made as root).
  case everyType
  /// ELF files for the XIP layouts.
  case xip

  var root: String? {
    switch self {
    case .generated: BuilderFixtures.shared.tree(.generatedC).root
    case .everyType: TarFixtures.shared?.tree
    case .xip: XIPTree.shared.root
    }
  }
}

/// An option set the image is made with, and made again with from its tar.
struct RoundTripOptions: Sendable, CustomTestStringConvertible {
  var name: String
  var apply: @Sendable (inout BuildOptions) -> Void
  var testDescription: String { name }

  static let classic: [RoundTripOptions] = [
    .init(name: "host order") { _ in },
    .init(name: "-N big") { $0.byteOrder = .big },
    .init(name: "-b 65536") { $0.blockSize = 65536 },
    .init(name: "-z") { $0.holes = true },
    .init(name: "-p -N little -x") { $0.padsBootSector = true; $0.byteOrder = .little; $0.storeIncompressibleBlocks = true },
  ]
  static let xip: [RoundTripOptions] = [
    .init(name: "--xip '/bin/*'") { $0.xipPatterns = ["/bin/*"] },
    .init(name: "-X -X") { $0.xipELF = .page },
    .init(name: "-X -X -N big -b 16384") { $0.xipELF = .page; $0.byteOrder = .big; $0.blockSize = 16384 },
    .init(name: "-X") { $0.xipELF = .eightBytes },
  ]
}

@Suite("Tar output")
struct TarOutputTests {
  /// tree -> image -> tar -> image; returns the first image and the tar's bytes.
  private func roundTrip(_ tree: String, _ options: BuildOptions, scratch: String) throws -> [UInt8] {
    try ImageBuilder.build(from: tree, to: scratch + "/first.img", options: options)
    let image = try CramfsImage(path: scratch + "/first.img")
    try TarExporter.export(image, to: scratch + "/first.tar")
    try ImageBuilder.build(from: TarArchiveInput(path: scratch + "/first.tar"), to: scratch + "/second.img", options: options)
    let first = try readBytes(scratch + "/first.img")
    let second = try readBytes(scratch + "/second.img")
    #expect(first == second, "\(firstDifference(first, second))")
    return try readBytes(scratch + "/first.tar")
  }

  @Test("tree -> image -> tar -> image is byte-identical", arguments: [RoundTripTree.generated, .everyType], RoundTripOptions.classic)
  func classicRoundTrip(tree: RoundTripTree, options set: RoundTripOptions) throws {
    guard let root = tree.root else { return }  // the every-type tree needs root
    let scratch = try makeTemporaryDirectory("tar-out")
    defer { removeTree(scratch) }
    var options = BuildOptions()
    set.apply(&options)
    _ = try roundTrip(root, options, scratch: scratch)
  }

  @Test("XIP images round-trip too", arguments: RoundTripOptions.xip)
  func xipRoundTrip(_ set: RoundTripOptions) throws {
    let scratch = try makeTemporaryDirectory("tar-out-xip")
    defer { removeTree(scratch) }
    var options = BuildOptions()
    set.apply(&options)
    _ = try roundTrip(XIPTree.shared.root, options, scratch: scratch)
    let report = try ImageBuilder.build(from: XIPTree.shared.root, to: scratch + "/check.img", options: options)
    #expect(report.xipFiles > 0 || options.xipELF == .eightBytes)
  }

  @Test("deterministic: the same bytes on every run, to a file or standard output; GNU tar reads it")
  func deterministic() throws {
    let cramfs = try #require(builtExecutable("cramfs"))
    let root = try #require(RoundTripTree.everyType.root ?? RoundTripTree.generated.root)
    let scratch = try makeTemporaryDirectory("tar-out-det")
    defer { removeTree(scratch) }
    try shell(
      "\(cramfs) make \(root) \(scratch)/i.img 2>/dev/null; \(cramfs) extract \(scratch)/i.img --tar \(scratch)/a.tar"
        + " && \(cramfs) extract \(scratch)/i.img --tar - > \(scratch)/b.tar"
        + " && \(cramfs) extract \(scratch)/i.img --tar - | cat > \(scratch)/c.tar")
    let a = try readBytes(scratch + "/a.tar")
    #expect(try readBytes(scratch + "/b.tar") == a)
    #expect(try readBytes(scratch + "/c.tar") == a)
    let listed = try shell("tar --numeric-owner -tvf \(scratch)/a.tar")
    #expect(listed.standardError.isEmpty, "\(listed.standardError)")
    let listing = listed.standardOutput
    #expect(listing.hasPrefix("drwxr-xr-x 0/0"))
    #expect(!listing.contains("PaxHeader"))
    if root == RoundTripTree.everyType.root {
      #expect(listing.contains("-rw-r----- 1234/56"))
      #expect(listing.contains("-rwsr-xr-x 0/0"))
      #expect(listing.contains("crw-rw-rw- 0/5             1,3 1970-01-01 00:00 dir/null"))
      #expect(listing.contains("grüße-ünïcødé"))
      #expect(listing.contains("drwxrwxrwt"))
      #expect(listing.contains("prw-r--r-- 7/7"))
      // Identical files with the same mode and owner share data in the image: hard links in the archive.
      #expect(listing.contains("same-b link to same-a"))
      #expect(listing.contains("dir/sub/deeper/owned-link link to dir/sub/owned"))
    }
  }

  @Test("names that are not UTF-8 round-trip as bytes")
  func nonUTF8Names() throws {
    let scratch = try makeTemporaryDirectory("tar-out-names")
    defer { removeTree(scratch) }
    try shell("mkdir \(scratch)/tree && : > \"\(scratch)/tree/$(printf 'bad\\377name')\" && : > \(scratch)/tree/ok-ü")
    _ = try roundTrip(scratch + "/tree", BuildOptions(), scratch: scratch)
    let listing = try shell("tar -tf \(scratch)/first.tar 2>/dev/null").standardOutput
    #expect(listing.contains("bad\\377name") && listing.contains("ok-ü"))
  }

  @Test("sockets are left out with a warning")
  func sockets() throws {
    let cramfs = try #require(builtExecutable("cramfs"))
    let scratch = try makeTemporaryDirectory("tar-out-sock")
    defer { removeTree(scratch) }
    try ImageBuilder.build(from: BuilderFixtures.shared.tree(.generatedA).root, to: scratch + "/i.img", options: BuildOptions())
    let result = try runProcess(cramfs, ["extract", scratch + "/i.img", "--tar", scratch + "/a.tar"])
    #expect(result.status == 0)
    #expect(result.standardErrorLines == ["cramfs: warning: dev/sock: socket left out (tar cannot hold sockets)"])
    let listing = try shell("tar -tf \(scratch)/a.tar").standardOutput
    #expect(listing.contains("dev/fifo") && !listing.contains("dev/sock"))
  }

  @Test("a damaged image: one line, exit 4 (a problem in the image, as for a tree), no archive left")
  func damaged() throws {
    let cramfs = try #require(builtExecutable("cramfs"))
    let scratch = try makeTemporaryDirectory("tar-out-bad")
    defer { removeTree(scratch) }
    try FileManager.default.createDirectory(atPath: scratch + "/out", withIntermediateDirectories: false)
    try ImageBuilder.build(from: BuilderFixtures.shared.tree(.generatedC).root, to: scratch + "/i.img", options: BuildOptions())
    let full = try readBytes(scratch + "/i.img")
    _ = FileManager.default.createFile(atPath: scratch + "/cut.img", contents: Data(full.prefix(full.count * 2 / 3)))
    let result = try runProcess(cramfs, ["extract", "-b", "4096", scratch + "/cut.img", "--tar", scratch + "/out/a.tar"], timeout: 60)
    #expect(!result.crashed && !result.timedOut)
    #expect(result.status == 4, "\(result.standardError)")
    #expect(result.standardErrorLines.count == 1, "\(result.standardError)")
    #expect(try directoryListing(scratch + "/out").isEmpty)
    let usage = try runProcess(cramfs, ["extract", scratch + "/i.img"])
    #expect(usage.status != 0 && usage.standardError.contains("--tar"))
  }
}
