import Cramfs
import CramfsTestSupport
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// One image that tries to make the extractor write outside its target.
struct AttackCase: Sendable, CustomTestStringConvertible {
  var name: String
  /// Codes of the refusals expected (each must appear).
  var codes: Set<Diagnostic.Code>
  /// Whether the target already holds something (extracted with overwrite).
  var prepare: (@Sendable (_ target: String, _ sentinel: String) throws -> Void)?
  var entries: @Sendable (_ sentinel: String) -> [HandEntry]
  var sorted = true
  var testDescription: String { name }
}

/// A directory `base` holding the extraction `target` and an empty `sentinel` next to it: after any
/// extraction, `base` must still hold exactly those two and the sentinel must still be empty.
@Suite struct ExtractionAttackTests {
  static let ok = HandEntry.file("ok", Array("fine\n".utf8))
  static let payload = Array("owned\n".utf8)

  static let cases: [AttackCase] = [
    AttackCase(name: "'..' directory", codes: [.dotName]) { _ in
      [.raw(Array("..".utf8), mode: 0o040755, children: [.file("escaped", payload)]), ok]
    },
    AttackCase(name: "'../' in a file name", codes: [.slashInName]) { _ in
      [.raw(Array("../escaped".utf8), mode: 0o100644, content: payload), ok]
    },
    AttackCase(name: "'../sentinel/x' file name", codes: [.slashInName]) { _ in
      [.raw(Array("../sentinel/x".utf8), mode: 0o100644, content: payload), ok]
    },
    AttackCase(name: "absolute name", codes: [.slashInName]) { sentinel in
      [.raw(Array((sentinel + "/x").utf8), mode: 0o100644, content: payload), ok]
    },
    AttackCase(name: "'.' directory", codes: [.dotName]) { _ in
      [.raw(Array(".".utf8), mode: 0o040755, children: [.file("x", payload)]), ok]
    },
    AttackCase(name: "'.' symlink to outside", codes: [.dotName]) { sentinel in
      [.raw(Array(".".utf8), mode: 0o120777, content: Array(sentinel.utf8)), ok]
    },
    AttackCase(name: "NUL inside a name", codes: [.nulInName]) { _ in
      [.raw(Array("a\0b".utf8), mode: 0o040755, children: [.file("x", payload)]), ok]
    },
    AttackCase(name: "NUL then '../' in a name", codes: [.slashInName]) { _ in
      [.raw(Array("a\0/../../escaped".utf8), mode: 0o100644, content: payload), ok]
    },
    AttackCase(name: "symlink to outside, then a directory of the same name", codes: [.duplicateName]) { sentinel in
      [.symlink("a", sentinel), .directory("a", [.file("x", payload)]), ok]
    },
    AttackCase(name: "relative symlink to outside, then a directory of the same name", codes: [.duplicateName]) { _ in
      [.symlink("a", "../sentinel"), .directory("a", [.directory("deeper", [.file("x", payload)])]), ok]
    },
    AttackCase(name: "symlink to an outside file, then a file of the same name", codes: [.duplicateName]) { sentinel in
      [.symlink("a", sentinel + "/planted"), .file("a", payload), ok]
    },
    AttackCase(name: "unsorted: symlink, other entries, then the directory", codes: [.duplicateName], entries: { sentinel in
      [.symlink("z", sentinel), ok, .directory("z", [.file("x", payload)])]
    }, sorted: false),
    AttackCase(name: "directory first, then a symlink of the same name", codes: [.duplicateName]) { sentinel in
      [.directory("a", [.file("x", payload)]), .symlink("a", sentinel), ok]
    },
    AttackCase(name: "absolute and relative symlinks are created, never followed", codes: []) { sentinel in
      [.symlink("abs", sentinel), .symlink("rel", "../sentinel"), .symlink("dangling", sentinel + "/planted"), ok]
    },
    AttackCase(
      name: "existing symlink where a directory is expected (--force)", codes: [],
      prepare: { target, sentinel in try FileManager.default.createSymbolicLink(atPath: target + "/a", withDestinationPath: sentinel) },
      entries: { _ in [.directory("a", [.file("x", payload)]), ok] }),
    AttackCase(
      name: "existing dangling symlink where a file is written (--force)", codes: [],
      prepare: { target, sentinel in
        try FileManager.default.createSymbolicLink(atPath: target + "/ok", withDestinationPath: sentinel + "/planted")
      },
      entries: { _ in [ok] }),
    AttackCase(
      name: "existing symlink where a fifo and a device go (--force)", codes: [],
      prepare: { target, sentinel in
        try FileManager.default.createSymbolicLink(atPath: target + "/f", withDestinationPath: sentinel + "/f")
        try FileManager.default.createSymbolicLink(atPath: target + "/d", withDestinationPath: sentinel)
      },
      entries: { _ in [Fixtures.device("d", major: 1, minor: 3), Fixtures.fifo("f"), ok] }),
  ]

  @Test(arguments: cases)
  func nothingEscapesTheTarget(_ attack: AttackCase) throws {
    let base = try TemporaryDirectory()
    let target = base.file("target")
    let sentinel = base.file("sentinel")
    try FileManager.default.createDirectory(atPath: sentinel, withIntermediateDirectories: false)
    var options = ExtractOptions()
    if let prepare = attack.prepare {
      try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
      try prepare(target, sentinel)
      options.overwrite = true
    }
    let flags: SuperblockFlags = attack.sorted ? [.fsidVersion2, .sortedDirectories] : [.fsidVersion2]
    let bytes = HandImage(attack.entries(sentinel), order: .little, flags: flags).bytes
    let image = try CramfsImage(bytes: bytes)
    let report = try ImageExtractor.extract(image, to: target, options: options)

    #expect(listing(base.path) == ["sentinel", "target"])
    #expect(listing(sentinel).isEmpty)
    #expect(listing("/").allSatisfy { $0 != "escaped" })
    for code in attack.codes {
      let refusals = report.diagnostics.filter { $0.code == code && $0.severity == .error }
      #expect(!refusals.isEmpty, "expected \(code), got \(report.diagnostics)")
      #expect(refusals.allSatisfy { $0.path != nil && $0.offset != nil })
    }
    if attack.codes.isEmpty { #expect(report.diagnostics.isEmpty, "\(report.diagnostics)") }
    // The legitimate sibling is still extracted.
    #expect(try String(contentsOfFile: target + "/ok", encoding: .utf8) == "fine\n")
    // Whatever is a directory in the target is a real directory, not a symlink to outside.
    var info = stat()
    if lstat(target + "/a", &info) == 0 && info.st_mode & S_IFMT == S_IFDIR {
      #expect(FileManager.default.fileExists(atPath: target + "/a/x") || attack.codes.contains(.duplicateName))
    }
  }

  @Test func symlinksKeepTheirTargets() throws {
    let base = try TemporaryDirectory()
    let image = try CramfsImage(bytes: HandImage([.symlink("abs", "/etc/passwd"), .symlink("rel", "../../x"), Self.ok]).bytes)
    let report = try ImageExtractor.extract(image, to: base.file("target"))
    #expect(report.isClean)
    #expect(try FileManager.default.destinationOfSymbolicLink(atPath: base.file("target/abs")) == "/etc/passwd")
    #expect(try FileManager.default.destinationOfSymbolicLink(atPath: base.file("target/rel")) == "../../x")
  }

  /// Through the binary: a refusal is an error line naming the path, and the exit status is 4.
  @Test func refusalsThroughTheBinary() throws {
    let base = try TemporaryDirectory()
    try FileManager.default.createDirectory(atPath: base.file("sentinel"), withIntermediateDirectories: false)
    let bytes = HandImage([.symlink("a", base.file("sentinel")), .directory("a", [.file("x", Self.payload)]), Self.ok]).bytes
    try Data(bytes).write(to: URL(fileURLWithPath: base.file("image")))
    let result = try Tools.run(try Tools.binary("cramfs"), ["extract", base.file("image"), base.file("target")])
    #expect(result.status == 4)
    #expect(result.standardErrorLines.contains { $0.hasPrefix("cramfs: error: refused") && $0.hasSuffix("in /a)") }, "\(result.standardError)")
    #expect(listing(base.file("sentinel")).isEmpty)
    let fsck = try Tools.run(try Tools.binary("cramfsck"), ["-x", base.file("target2"), base.file("image")])
    #expect(fsck.status == 4)
    #expect(listing(base.file("sentinel")).isEmpty)
  }

  /// Modes are applied after contents and children: read-only directories still get their children,
  /// setuid/setgid/sticky survive, and owners are set when running as root.
  @Test func modesAndOwnersAfterContent() throws {
    var locked = HandEntry.directory("locked", [.file("inside", Array("x".utf8), mode: 0o400)], mode: 0o500)
    locked.uid = 1234
    locked.gid = 56
    var setuid = HandEntry.file("setuid", Array("#!/bin/sh\n".utf8), mode: 0o4755)
    setuid.uid = 42
    let sticky = HandEntry.directory("sticky", [], mode: 0o1777)
    let setgid = HandEntry.file("setgid", [1, 2, 3], mode: 0o2711)
    let base = try TemporaryDirectory()
    let image = try CramfsImage(bytes: HandImage([locked, setgid, setuid, sticky]).bytes)
    let report = try ImageExtractor.extract(image, to: base.file("t"))
    #expect(report.isClean, "\(report.diagnostics)")
    let snapshot = try TreeSnapshot(base.file("t"))
    #expect(snapshot.entries["/locked"]?.mode == 0o500)
    #expect(snapshot.entries["/locked/inside"]?.size == 1)
    #expect(snapshot.entries["/setuid"]?.mode == 0o4755)
    #expect(snapshot.entries["/setgid"]?.mode == 0o2711)
    #expect(snapshot.entries["/sticky"]?.mode == 0o1777)
    if geteuid() == 0 || TestEnvironment.isCI {
      #expect(snapshot.entries["/locked"]?.uid == 1234 && snapshot.entries["/locked"]?.gid == 56)
      #expect(snapshot.entries["/setuid"]?.uid == 42)
    }
  }

  /// A corrupt block is reported with path and offset, written as zeros, and the rest is extracted.
  @Test func corruptBlocksAreReportedAndTheRestExtracted() throws {
    let base = try TemporaryDirectory()
    let image = Fixtures.base(.big).mutated { image in
      let (start, _) = image.blocks["/b-two-blocks"]![1]
      image.bytes[start] = 0
    }
    let report = try ImageExtractor.extract(try CramfsImage(bytes: image), to: base.file("t"))
    #expect(report.errorCount == 1)
    let problem = try #require(report.diagnostics.first)
    #expect(problem.path == "/b-two-blocks" && problem.offset != nil && problem.code == .badBlock)
    let content = try Data(contentsOf: URL(fileURLWithPath: base.file("t/b-two-blocks")))
    #expect(content.count == 6000)
    #expect(Array(content.prefix(4096)) == Array(Fixtures.text(6000).prefix(4096)))
    #expect(content.suffix(6000 - 4096).allSatisfy { $0 == 0 })
    #expect(listing(base.file("t")).count == 7)
  }

  /// Extraction of a very deep chain stops at the same bound as the checker, with an error.
  @Test func deepPathsAreBounded() throws {
    var entry = HandEntry.file("bottom", [1])
    for _ in 0..<100 { entry = .directory(String(repeating: "d", count: 252), [entry]) }
    let base = try TemporaryDirectory()
    let report = try ImageExtractor.extract(try CramfsImage(bytes: HandImage([entry]).bytes), to: base.file("t"))
    #expect(report.codes == [.pathTooLong])
    #expect(listing(base.path) == ["t"])
  }
}
