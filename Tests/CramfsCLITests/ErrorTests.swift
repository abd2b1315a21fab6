import Cramfs
import CramfsTestSupport
import Foundation
import Testing

/// Bad input gives a non-zero exit status (8 operational, 16 usage) and one line on standard error.
@Suite("errors")
struct ErrorTests {
  static func expectOneLineError(_ arguments: [String], status: Int32, mentioning words: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws {
    let result = try CLI.run(arguments)
    #expect(!result.crashed, "crashed: \(result.standardError)", sourceLocation: sourceLocation)
    #expect(result.status == status, "status \(result.status) for \(arguments): \(result.standardError)", sourceLocation: sourceLocation)
    #expect(result.standardErrorLines.count == 1, "\(result.standardError)", sourceLocation: sourceLocation)
    #expect(result.standardError.hasPrefix("cramfs: error: "), "\(result.standardError)", sourceLocation: sourceLocation)
    for word in words {
      #expect(result.standardError.contains(word), "\(result.standardError) should mention \(word)", sourceLocation: sourceLocation)
    }
  }

  static func scratchFile(_ bytes: Data) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("cramfs-cli-\(UUID().uuidString)")
    try bytes.write(to: url)
    return url
  }

  @Test("a missing image file", arguments: ["list", "cat", "info"])
  func missingFile(command: String) throws {
    var arguments = [command, "/nonexistent/image.cramfs"]
    if command == "cat" { arguments.append("/a") }
    try Self.expectOneLineError(arguments, status: 8, mentioning: ["/nonexistent/image.cramfs"])
  }

  @Test("a file that is not a cramfs image", arguments: [0, 10, 4096])
  func notCramfs(length: Int) throws {
    let url = try Self.scratchFile(Data((0..<length).map { UInt8($0 % 7) }))
    defer { try? FileManager.default.removeItem(at: url) }
    try Self.expectOneLineError(["info", url.path], status: 8)
    try Self.expectOneLineError(["list", url.path], status: 8)
  }

  @Test("a directory loop stops list -R and info with an error", arguments: [["list", "-R"], ["info"]])
  func directoryLoop(command: [String]) throws {
    // The root holds one directory, `loop`, whose entries are the root's.
    var writer = ByteWriter(byteOrder: .little)
    let root = Inode(mode: 0o040755, uid: 0, size: 16, gid: 0, nameWords: 0, offsetWords: 76 / 4)
    Superblock(size: 4096, flags: [.fsidVersion2, .sortedDirectories], fsid: FilesystemID(files: 2), root: root).encode(into: &writer)
    Inode(mode: 0o040755, uid: 0, size: 16, gid: 0, nameWords: 1, offsetWords: 76 / 4).encode(into: &writer)
    writer.append(contentsOf: Array("loop".utf8))
    writer.pad(toMultipleOf: 4096)
    let url = try Self.scratchFile(Data(writer.bytes))
    defer { try? FileManager.default.removeItem(at: url) }
    let result = try CLI.run(command + [url.path])
    #expect(!result.crashed && result.status != 0, "\(result.standardError)")
    #expect(result.standardError.contains("directory loop"), "\(result.standardError)")
  }

  @Test("usage mistakes exit 16", arguments: [
    ["list", "--no-such-option", "x"], ["info"], ["cat", "x"], ["frobnicate"], ["list", "--block-size", "1000", "x"],
    ["list", "--offset", "abc", "x"],
  ])
  func usage(arguments: [String]) throws {
    try Self.expectOneLineError(arguments, status: 16)
  }

  @Test("paths that do not work inside a good image", .enabled(if: TestEnvironment.gate(UtilLinuxCramfs.isAvailable)))
  func badPaths() throws {
    let fixture = try Fixture(MkfsVariant.all[0])
    let image = fixture.image.path
    try Self.expectOneLineError(["list", image, "/no/such/entry"], status: 8, mentioning: ["/no/such/entry"])
    try Self.expectOneLineError(["cat", image, "/missing"], status: 8, mentioning: ["/missing"])
    try Self.expectOneLineError(["cat", image, "/sub"], status: 8, mentioning: ["directory"])
    try Self.expectOneLineError(["cat", image, "/fifo"], status: 8)
    try Self.expectOneLineError(["cat", image, "/hello.txt/x"], status: 8)
    try Self.expectOneLineError(["info", "--offset", "1000000", image], status: 8)
  }

  @Test("a truncated image is reported, not crashed on", .enabled(if: TestEnvironment.gate(UtilLinuxCramfs.isAvailable)), arguments: [200, 1000, 3000])
  func truncated(length: Int) throws {
    let fixture = try Fixture(MkfsVariant.all[0])
    let cut = try Self.scratchFile(try Data(contentsOf: fixture.image).prefix(length))
    defer { try? FileManager.default.removeItem(at: cut) }
    for arguments in [["list", "-R", cut.path], ["cat", cut.path, "/random.bin"], ["info", cut.path]] {
      let result = try CLI.run(arguments)
      #expect(!result.crashed, "\(arguments): \(result.standardError)")
      #expect(result.status == 0 || result.status == 8)
      if result.status != 0 { #expect(result.standardErrorLines.count == 1 && result.standardError.hasPrefix("cramfs: error: ")) }
    }
  }

  @Test("--help exits 0 and names every subcommand")
  func help() throws {
    let result = try CLI.succeed(["--help"])
    for command in ["make", "check", "extract", "list", "cat", "info"] {
      #expect(result.standardOutput.contains("  \(command) "), "\(command)")
    }
    #expect(try CLI.succeed(["list", "--help"]).standardOutput.contains("--recursive"))
  }
}
