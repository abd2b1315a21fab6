import Cramfs
import CramfsTestSupport
import Foundation
import Testing

/// `-D` / `--device-table` on `cramfs make` and `mkcramfs`.
@Suite("device tables")
struct DeviceTableCLITests {
  /// A source tree with one file, a table file with `table`, and an output path.
  private static func scratch(table: String) throws -> TemporaryDirectory {
    let directory = try TemporaryDirectory("cli-devtable")
    try FileManager.default.createDirectory(
      atPath: directory.file("src/etc"), withIntermediateDirectories: true)
    try Data("x\n".utf8).write(to: URL(fileURLWithPath: directory.file("src/etc/motd")))
    try Data(table.utf8).write(to: URL(fileURLWithPath: directory.file("table.txt")))
    return directory
  }

  private static func run(_ tool: String, _ arguments: [String]) throws -> ProcessResult {
    if tool == "cramfs" { return try CLI.run(["make"] + arguments) }
    let binary = try #require(builtExecutable(tool), "\(tool) was not built")
    return try runProcess(binary, arguments)
  }

  @Test("a table makes nodes in the image", arguments: ["cramfs", "mkcramfs"])
  func makesNodes(tool: String) throws {
    let directory = try Self.scratch(
      table: "/dev d 755 0 0 - - - - -\n/dev/tty c 666 0 0 4 0 0 1 2\n/etc/motd f 600 7 8 - - - - -\n")
    let option = tool == "cramfs" ? "--device-table" : "-D"
    let result = try Self.run(
      tool, [option, directory.file("table.txt"), directory.file("src"), directory.file("out")])
    #expect(result.status == 0, "\(result.standardError)")
    let image = try CramfsImage(path: directory.file("out"))
    let tty1 = image.stat(try image.lookup("/dev/tty1"))
    #expect(tty1.device == DeviceNumber(major: 4, minor: 1))
    let motd = image.stat(try image.lookup("/etc/motd"))
    #expect(motd.uid == 7 && motd.gid == 8 && motd.mode & 0o7777 == 0o600)
  }

  @Test(
    "bad tables: one line naming the table line, no output",
    arguments: [
      ("cramfs", "/dev d 755 0 0 - - - - -\n/dev/x z 600 0 0 1 1 - - -\n", Int32(16), "unknown type 'z'"),
      ("mkcramfs", "\n/dev/x c 600 0 0 1 1 - -\n", 16, "9 columns"),
      ("mkcramfs", "/dev d 755 0 0 - - - - -\n/etc/gone f 600 0 0 - - - - -\n", 8, "/etc/gone does not exist"),
    ])
  func badTables(tool: String, table: String, status: Int32, problem: String) throws {
    let directory = try Self.scratch(table: table)
    let table = directory.file("table.txt")
    let result = try Self.run(tool, ["-D", table, directory.file("src"), directory.file("out")])
    #expect(result.status == status && !result.crashed, "\(result.standardError)")
    #expect(result.standardErrorLines.count == 1, "\(result.standardError)")
    #expect(result.standardError.hasPrefix("\(tool): error: \(table):2: "), "\(result.standardError)")
    #expect(result.standardError.contains(problem), "\(result.standardError)")
    #expect(!FileManager.default.fileExists(atPath: directory.file("out")))
    #expect(
      try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == [
        "src", "table.txt",
      ])
  }
}
