import Cramfs
import CramfsTestSupport
import Foundation
import Testing

/// The progress line of `make`, `extract`, `check` and `scan`: drawn with `--progress` when standard error is
/// not a terminal (as in these tests), absent without it, and never changing what the command produces.
@Suite("progress")
struct ProgressTests {
  /// A tree of a few hundred KiB: some compressible, some random data, a symlink.
  private static func tree(in root: String) throws -> String {
    let tree = root + "/tree"
    try FileManager.default.createDirectory(atPath: tree + "/lib/sub", withIntermediateDirectories: true)
    var rng = SeededGenerator(seed: 77)
    var files: [(String, [UInt8])] = [("lib/random", rng.bytes(300_000)), ("text", Array(String(repeating: "line\n", count: 20_000).utf8))]
    for index in 0..<40 { files.append(("lib/sub/f\(index)", rng.bytes(index * 300))) }
    for (name, bytes) in files {
      guard FileManager.default.createFile(atPath: tree + "/" + name, contents: Data(bytes)) else { throw GeneratorError("cannot write \(name)") }
    }
    try FileManager.default.createSymbolicLink(atPath: tree + "/link", withDestinationPath: "lib/random")
    return tree
  }

  /// Draws end in clear-to-end-of-line and `\r`; the last thing written clears the line.
  private static func expectProgress(_ result: ProcessResult, sourceLocation: SourceLocation = #_sourceLocation) {
    let text = result.standardError
    #expect(result.status == 0, "\(text)", sourceLocation: sourceLocation)
    #expect(text.contains("\u{1B}[K\r"), "no progress line in \(text.debugDescription)", sourceLocation: sourceLocation)
    #expect(text.hasSuffix("\r\u{1B}[K"), "the line is not cleared at the end: \(text.debugDescription)", sourceLocation: sourceLocation)
    #expect(!text.contains("\n"), "progress wrote a newline: \(text.debugDescription)", sourceLocation: sourceLocation)
  }

  @Test func makeDrawsWithProgressOnlyAndWritesTheSameImage() throws {
    let root = try makeTemporaryDirectory("progress")
    defer { removeTree(root) }
    let tree = try Self.tree(in: root)
    Self.expectProgress(try CLI.run(["make", "--progress", tree, root + "/with.img"]))
    let quiet = try CLI.succeed(["make", tree, root + "/without.img"])  // standard error is a file: no line
    #expect(quiet.standardErrorData.isEmpty)
    _ = try CLI.succeed(["make", "--no-progress", tree, root + "/off.img"])
    let image = try readBytes(root + "/without.img")
    #expect(try readBytes(root + "/with.img") == image)
    #expect(try readBytes(root + "/off.img") == image)
  }

  @Test func extractCheckAndScanDrawWithProgressOnly() throws {
    let root = try makeTemporaryDirectory("progress")
    defer { removeTree(root) }
    let tree = try Self.tree(in: root)
    let image = root + "/image.img"
    _ = try CLI.succeed(["make", tree, image])

    Self.expectProgress(try CLI.run(["extract", "--progress", image, root + "/with"]))
    _ = try CLI.succeed(["extract", image, root + "/without"])
    #expect(try snapshotTree(root + "/with") == snapshotTree(root + "/without"))
    #expect(try snapshotTree(root + "/with") == snapshotTree(tree))

    Self.expectProgress(try CLI.run(["extract", "--progress", image, "--tar", root + "/with.tar"]))
    _ = try CLI.succeed(["extract", image, "--tar", root + "/without.tar"])
    #expect(try readBytes(root + "/with.tar") == readBytes(root + "/without.tar"))

    let checked = try CLI.run(["check", "--progress", image])
    Self.expectProgress(checked)
    let plain = try CLI.succeed(["check", image])
    #expect(checked.standardOutput == plain.standardOutput)

    let scanned = try CLI.run(["scan", "--progress", image])
    Self.expectProgress(scanned)
    #expect(scanned.standardOutput == (try CLI.succeed(["scan", image])).standardOutput)
  }

  /// On a terminal (util-linux `script` gives the command one) the line is drawn unasked; `--no-progress`
  /// and `check -q` keep it off.
  @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script")))
  func terminalShowsProgressUnlessTurnedOff() throws {
    let root = try makeTemporaryDirectory("progress")
    defer { removeTree(root) }
    let tree = try Self.tree(in: root)
    let binary = try #require(CLI.executable)
    func onTerminal(_ arguments: String) throws -> String {
      let result = try runProcess("/usr/bin/script", ["-q", "-e", "-c", binary + " " + arguments, "/dev/null"], timeout: 120)
      #expect(result.status == 0, "\(arguments): \(result.standardOutput)")
      return result.standardOutput
    }
    #expect(try onTerminal("make \(tree) \(root)/a.img").contains("\u{1B}[K\r"))
    #expect(try !onTerminal("make --no-progress \(tree) \(root)/b.img").contains("\u{1B}[K"))
    #expect(try !onTerminal("make -v \(tree) \(root)/c.img").contains("\u{1B}[K"))
    #expect(try onTerminal("check \(root)/a.img").contains("\u{1B}[K\r"))
    #expect(try !onTerminal("check -q \(root)/a.img").contains("\u{1B}[K"))
  }

  /// The library side: every counter reaches its total.
  @Test func countersReachTheirTotals() throws {
    let root = try makeTemporaryDirectory("progress")
    defer { removeTree(root) }
    let tree = try Self.tree(in: root)
    let build = ProgressCounter()
    var options = BuildOptions()
    options.progress = build
    _ = try ImageBuilder.build(from: tree, to: root + "/image.img", options: options)
    let built = build.snapshot()
    #expect(built.totalBytes > 600_000 && built.bytes == built.totalBytes)
    // Entries with data: 41 files (lib/sub/f0 is empty) and the symlink.
    #expect(built.totalEntries == 42 && built.entries == built.totalEntries)

    let image = try CramfsImage(path: root + "/image.img")
    let extraction = ProgressCounter()
    var extractOptions = ExtractOptions()
    extractOptions.progress = extraction
    _ = try ImageExtractor.extract(image, to: root + "/out", options: extractOptions)
    let extracted = extraction.snapshot()
    #expect(extracted.bytes == built.totalBytes - "lib/random".utf8.count)  // symlink targets are not file bytes
    // Every entry below the root: 2 directories, 42 files, the symlink.
    #expect(extracted.entries == extracted.totalEntries && extracted.totalEntries == 45)

    let tar = ProgressCounter()
    try TarExporter.export(image, to: root + "/image.tar", progress: tar)
    let archived = tar.snapshot()
    #expect(archived.bytes == extracted.bytes && archived.bytes == archived.totalBytes)
    #expect(archived.entries == 46 && archived.entries == archived.totalEntries)  // the root too

    let check = ProgressCounter()
    var checkOptions = CheckOptions()
    checkOptions.progress = check
    #expect(ImageChecker.check(image, options: checkOptions).isClean)
    let checked = check.snapshot()
    #expect(checked.totalBytes > 0 && checked.bytes == checked.totalBytes)
    #expect(checked.entries == checked.totalEntries)

    let scan = ProgressCounter()
    #expect(try ImageScanner.scan(path: root + "/image.img", progress: scan).count == 1)
    let scanned = scan.snapshot()
    #expect(scanned.bytes == scanned.totalBytes && scanned.entries == 1)
  }
}
