import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// What one run of a program produced.
struct RunResult {
  var status: Int32
  /// Ended by a signal (a crash) rather than by exit.
  var crashed: Bool
  var timedOut: Bool
  var stdout: String
  var stderr: String
  var stderrLines: [Substring] { stderr.split(separator: "\n") }
}

/// Runs external programs (mkfs.cramfs, fsck.cramfs) and this package's binaries.
enum Tools {
  static let mkfs = "/usr/sbin/mkfs.cramfs"
  static let fsck = "/usr/sbin/fsck.cramfs"

  /// The directory holding the built executables (next to the test bundle).
  static let binaryDirectory: String? = {
    var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    for _ in 0..<4 {
      if FileManager.default.isExecutableFile(atPath: directory.appendingPathComponent("cramfsck").path) { return directory.path }
      directory.deleteLastPathComponent()
    }
    return nil
  }()

  static func binary(_ name: String) throws -> String {
    let directory = try #require(binaryDirectory, "the executables are not built next to the tests")
    return directory + "/" + name
  }

  /// Runs `program arguments...`, output captured in files, killed after `timeout` seconds.
  static func run(_ program: String, _ arguments: [String], timeout: Double = 60) throws -> RunResult {
    let scratch = try TemporaryDirectory()
    let outPath = scratch.path + "/out"
    let errPath = scratch.path + "/err"
    _ = FileManager.default.createFile(atPath: outPath, contents: nil)
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
    let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
    let process = Process()
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = arguments
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let deadline = Date().addingTimeInterval(timeout)
    var timedOut = false
    while process.isRunning {
      if Date() > deadline {
        timedOut = true
        process.terminate()
        process.waitUntilExit()
        break
      }
      usleep(2000)
    }
    process.waitUntilExit()
    try out.close()
    try err.close()
    return RunResult(
      status: process.terminationStatus, crashed: process.terminationReason == .uncaughtSignal && !timedOut, timedOut: timedOut,
      stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
      stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
  }

  /// Runs and requires exit status 0.
  @discardableResult
  static func succeed(_ program: String, _ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> RunResult {
    let result = try run(program, arguments)
    #expect(result.status == 0 && !result.crashed, "\(program) \(arguments) failed: \(result.stderr)", sourceLocation: sourceLocation)
    return result
  }
}

/// A fresh directory under the system's temporary directory, removed when the value goes away.
final class TemporaryDirectory: @unchecked Sendable {
  let path: String

  init() throws {
    var template = Array((NSTemporaryDirectory() + "/cramfs-check-XXXXXX").utf8CString)
    guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
      throw CocoaError(.fileWriteUnknown)
    }
    path = String(cString: made)
  }

  deinit { try? FileManager.default.removeItem(atPath: path) }

  func file(_ name: String) -> String { path + "/" + name }
}
