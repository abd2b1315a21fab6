import Cramfs
import CramfsTestSupport
import Foundation
import Testing

/// The binaries as subprocesses: a crash shows as a signal, a hang as a timeout.
@Suite struct CommandLineTests {
  static func isDiagnosticLine(_ line: Substring) -> Bool {
    line.wholeMatch(of: #/(cramfs|cramfsck): (error|warning): .+/#) != nil
  }

  /// Every hostile image, both byte orders, through `cramfs check` and `cramfsck`: exit 4 (or 8), one
  /// well-formed line per problem, never a signal. `cramfs extract` of each never crashes either.
  @Test func corruptImagesThroughTheBinaries() throws {
    let work = try TemporaryDirectory()
    let keep = ProcessInfo.processInfo.environment["CRAMFS_KEEP_CORRUPT"]
    var checked = 0
    for order in ByteOrder.allCases {
      for (index, corruption) in CorruptCases.all.enumerated() where corruption.severity == .error {
        let path = work.file("case-\(order)-\(index).cramfs")
        try Data(corruption.make(order)).write(to: URL(fileURLWithPath: path))
        if let keep { try? Data(corruption.make(order)).write(to: URL(fileURLWithPath: keep + "/\(order)-\(index).cramfs")) }
        for (binary, arguments) in [("cramfs", ["check", path]), ("cramfsck", [path])] {
          let result = try Tools.run(try Tools.binary(binary), arguments, timeout: 30)
          #expect(!result.crashed && !result.timedOut, "\(corruption.name): \(binary) crashed or hung")
          #expect(result.status == 4 || result.status == 8, "\(corruption.name): \(binary) exited \(result.status)")
          #expect(!result.standardErrorLines.isEmpty)
          for line in result.standardErrorLines {
            #expect(Self.isDiagnosticLine(line), "\(corruption.name): malformed line '\(line)'")
          }
          #expect(result.standardErrorLines.contains { $0.contains(": error: ") })
        }
        let target = work.file("out-\(order)-\(index)")
        let extract = try Tools.run(try Tools.binary("cramfs"), ["extract", path, target], timeout: 30)
        #expect(!extract.crashed && !extract.timedOut, "\(corruption.name): extract crashed or hung")
        #expect([0, 4].contains(extract.status), "\(corruption.name): extract exited \(extract.status): \(extract.standardError)")
        checked += 1
      }
    }
    #expect(checked > 70)
  }

  @Test func operationalAndUsageErrors() throws {
    let work = try TemporaryDirectory()
    let missing = try Tools.run(try Tools.binary("cramfs"), ["check", work.file("missing")])
    #expect(missing.status == 8)
    #expect(missing.standardErrorLines.count == 1 && missing.standardError.hasPrefix("cramfs: error: "))
    let missingFsck = try Tools.run(try Tools.binary("cramfsck"), [work.file("missing")])
    #expect(missingFsck.status == 8)
    #expect(missingFsck.standardErrorLines.count == 1 && missingFsck.standardError.hasPrefix("cramfsck: error: "))
    for arguments in [[], ["-q", "x"], ["a", "b"], ["-b", "1000", "x"], ["--extract"], ["-x"], ["--bogus", "x"]] {
      let result = try Tools.run(try Tools.binary("cramfsck"), arguments)
      #expect(result.status == 16, "cramfsck \(arguments) exited \(result.status)")
      #expect(result.standardErrorLines.count == 1 && result.standardError.hasPrefix("cramfsck: error: "), "\(result.standardError)")
    }
    let help = try Tools.run(try Tools.binary("cramfsck"), ["-h"])
    #expect(help.status == 0 && help.standardOutput.contains("--extract"))
    let badOption = try Tools.run(try Tools.binary("cramfs"), ["check", "--bogus", "x"])
    #expect(badOption.status == 16)
  }

  @Test func extractRefusesANonEmptyTarget() throws {
    let work = try TemporaryDirectory()
    let image = work.file("image")
    try Data(Fixtures.base(.little).bytes).write(to: URL(fileURLWithPath: image))
    try FileManager.default.createDirectory(atPath: work.file("target"), withIntermediateDirectories: false)
    try Data([1]).write(to: URL(fileURLWithPath: work.file("target/existing")))
    let refused = try Tools.run(try Tools.binary("cramfs"), ["extract", image, work.file("target")])
    #expect(refused.status == 8 && refused.standardError.contains("not empty"))
    let forced = try Tools.run(try Tools.binary("cramfs"), ["extract", "--force", image, work.file("target")])
    #expect(forced.status == 0, "\(forced.standardError)")
    #expect(listing(work.file("target")) == ["a-small", "b-two-blocks", "c-dev", "d-sub", "e-random", "existing", "f-fifo", "g-link"])
  }

  /// Both tools' spellings: util-linux `-v -b N --extract[=dir]`, cramfs-tools `-c -x dir`, bundled short options.
  @Test func cramfsckAcceptsBothToolsOptions() throws {
    let work = try TemporaryDirectory()
    let image = work.file("image")
    try Data(Fixtures.base(.big).bytes).write(to: URL(fileURLWithPath: image))
    let spellings: [[String]] = [
      ["-v", "-v", "-b", "4096", "--extract=\(work.file("a"))", image],
      ["-vvb4096", "-x", work.file("b"), image],
      ["--verbose", "--blocksize=4096", "-x\(work.file("c"))", "-a", "-y", "--", image],
    ]
    for arguments in spellings {
      let result = try Tools.run(try Tools.binary("cramfsck"), arguments)
      // As fsck.cramfs -v: the byte order, each entry extracted, then the verdict.
      #expect(result.status == 0 && result.standardOutput.hasPrefix("cramfs endianness is big\n"), "\(arguments): \(result.standardError)")
      #expect(result.standardOutput.hasSuffix("\(image): OK\n"), "\(arguments): \(result.standardOutput)")
    }
    for name in ["a", "b", "c"] { #expect(listing(work.file(name)).count == 7) }
    for arguments in [["--extract", image], ["-c", image], ["-cv", image]] {
      let result = try Tools.run(try Tools.binary("cramfsck"), arguments)
      #expect(result.status == 0 && result.standardError.isEmpty, "\(arguments): \(result.standardError)")
    }
    #expect(listing(work.path).sorted() == ["a", "b", "c", "image"])
  }
}
