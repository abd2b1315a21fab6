import Foundation
import Testing

/// What one run of the `cramfs` binary produced.
struct CLIResult {
  var status: Int32
  /// Whether the process ended by a signal (a crash) rather than by exit.
  var crashed: Bool
  var stdout: Data
  var stderr: String

  var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
  var stderrLines: [Substring] { stderr.split(separator: "\n") }
}

/// Runs the built `cramfs` executable, found next to the test bundle (or at `$CRAMFS_BIN`).
enum CLI {
  static let executable: String? = {
    if let path = ProcessInfo.processInfo.environment["CRAMFS_BIN"] { return path }
    var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    for _ in 0..<4 {
      let candidate = directory.appendingPathComponent("cramfs").path
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
      directory.deleteLastPathComponent()
    }
    return nil
  }()

  /// Runs `cramfs arguments...` with output captured in files (no pipe buffer limits).
  static func run(_ arguments: [String]) throws -> CLIResult {
    let binary = try #require(executable, "the cramfs binary was not built next to the tests; run `swift build --build-tests` first or set CRAMFS_BIN")
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("cramfs-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let outURL = scratch.appendingPathComponent("out")
    let errURL = scratch.appendingPathComponent("err")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    let out = try FileHandle(forWritingTo: outURL)
    let err = try FileHandle(forWritingTo: errURL)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = arguments
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    try out.close()
    try err.close()
    return CLIResult(
      status: process.terminationStatus,
      crashed: process.terminationReason == .uncaughtSignal,
      stdout: try Data(contentsOf: outURL),
      stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
  }

  /// Runs and expects success with nothing on standard error.
  static func succeed(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> CLIResult {
    let result = try run(arguments)
    #expect(result.status == 0 && !result.crashed, "cramfs \(arguments.joined(separator: " ")): \(result.stderr)", sourceLocation: sourceLocation)
    #expect(result.stderr.isEmpty, sourceLocation: sourceLocation)
    return result
  }
}
