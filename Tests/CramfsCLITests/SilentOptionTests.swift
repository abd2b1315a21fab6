import CramfsTestSupport
import Foundation
import Testing

/// Options that would be accepted and change nothing are refused (usage error, exit 16, one line) or
/// warned about, so a mistaken command line is noticed.
@Suite("silent options")
struct SilentOptionTests {
  /// A tree with a text file and a shell script (no ELF), and an image of it.
  private static func fixture() throws -> (root: String, tree: String, image: String) {
    let root = try makeTemporaryDirectory("silent")
    let tree = root + "/tree"
    try FileManager.default.createDirectory(atPath: tree + "/bin", withIntermediateDirectories: true)
    for (name, text) in [("readme", "hello\n"), ("bin/tool", "#!/bin/sh\necho hi\n")] {
      guard FileManager.default.createFile(atPath: tree + "/" + name, contents: Data(text.utf8)) else {
        throw GeneratorError("cannot write \(name)")
      }
    }
    let image = root + "/image.img"
    _ = try CLI.succeed(["make", tree, image])
    return (root, tree, image)
  }

  /// Exit 16 and one error line naming `option`.
  private static func expectUsageError(
    _ arguments: [String], naming option: String, sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    let result = try CLI.run(arguments)
    #expect(result.status == 16, "\(arguments): \(result.standardError)", sourceLocation: sourceLocation)
    #expect(result.standardErrorLines.count == 1, "\(result.standardError)", sourceLocation: sourceLocation)
    #expect(result.standardError.contains(option), "\(result.standardError)", sourceLocation: sourceLocation)
  }

  @Test func extractToTarRefusesDirectoryOptions() throws {
    let (root, _, image) = try Self.fixture()
    defer { removeTree(root) }
    for option in [["--json"], ["--force"], ["--no-owners"], ["-j", "3"]] {
      try Self.expectUsageError(["extract", image, "--tar", root + "/out.tar"] + option, naming: option[0] == "-j" ? "--jobs" : option[0])
      #expect(!FileManager.default.fileExists(atPath: root + "/out.tar"))
    }
    _ = try CLI.succeed(["extract", image, "--tar", root + "/out.tar"])
    _ = try CLI.succeed(["extract", "-j", "3", "--no-owners", image, root + "/dir"])
  }

  @Test func checkRefusesQuietWithJSON() throws {
    let (root, _, image) = try Self.fixture()
    defer { removeTree(root) }
    try Self.expectUsageError(["check", "-q", "--json", image], naming: "--quiet")
    #expect(try CLI.succeed(["check", "-q", image]).standardOutput.isEmpty)
  }

  @Test func makeRefusesOptionsThatChangeNothing() throws {
    let (root, tree, _) = try Self.fixture()
    defer { removeTree(root) }
    // -q squashes owners to 0, but both forced owners override it.
    try Self.expectUsageError(["make", "-q", "--force-uid", "5", "--force-gid", "6", tree, root + "/a.img"], naming: "-q")
    _ = try CLI.succeed(["make", "-q", "--force-uid", "5", tree, root + "/a.img"])  // -q still sets the gid
    // The read-bug guard only concerns XIP pages.
    try Self.expectUsageError(["make", "--no-read-bug-guard", tree, root + "/b.img"], naming: "--no-read-bug-guard")
    _ = try CLI.succeed(["make", "--no-read-bug-guard", "--xip", "/readme", tree, root + "/b.img"])
  }

  @Test func makeWarnsAboutAnEmptyInsertedFileAndELFXIPWithoutELF() throws {
    let (root, tree, _) = try Self.fixture()
    defer { removeTree(root) }
    guard FileManager.default.createFile(atPath: root + "/empty", contents: Data()) else { throw GeneratorError("cannot write empty") }
    let inserted = try CLI.run(["make", "-i", root + "/empty", tree, root + "/a.img"])
    #expect(inserted.status == 0)
    #expect(inserted.standardErrorLines == ["cramfs: warning: \(root)/empty: inserted file is empty: nothing is inserted"])
    #expect(try CLI.run(["make", "-E", "-i", root + "/empty", tree, root + "/b.img"]).status == 8)

    let elf = try CLI.run(["make", "-X", tree, root + "/c.img"])
    #expect(elf.status == 0)
    #expect(elf.standardErrorLines == ["cramfs: warning: -X: no ELF file has a read-only PT_LOAD segment: nothing is stored XIP by it"])
    #expect(try CLI.run(["make", "-E", "-X", "-X", tree, root + "/d.img"]).status == 8)
    // Files the patterns already take leave -X nothing to do either.
    let both = try CLI.run(["make", "-X", "--xip", "/bin/*", tree, root + "/e.img"])
    #expect(both.standardError.contains("no ELF file"))
  }

  @Test func listWarnsAboutRecursionIntoAFile() throws {
    let (root, _, image) = try Self.fixture()
    defer { removeTree(root) }
    let result = try CLI.run(["list", "-R", image, "/readme"])
    #expect(result.status == 0)
    #expect(result.standardErrorLines == ["cramfs: warning: -R does nothing: /readme is not a directory"])
    #expect(result.standardOutput.contains("readme"))
  }

  /// Found in the review: a negative --base trapped converting to an address.
  @Test func xipRefusesANegativeBase() throws {
    let (root, _, image) = try Self.fixture()
    defer { removeTree(root) }
    try Self.expectUsageError(["xip", "--base=-4096", image], naming: "--base")
    _ = try CLI.succeed(["xip", "--base", "0x1000", image])
  }

  @Test func mountRefusesReadWrite() throws {
    let (root, _, image) = try Self.fixture()
    defer { removeTree(root) }
    try FileManager.default.createDirectory(atPath: root + "/mnt", withIntermediateDirectories: true)
    try Self.expectUsageError(["mount", "-o", "allow_other,rw", image, root + "/mnt"], naming: "-o rw")
  }
}
