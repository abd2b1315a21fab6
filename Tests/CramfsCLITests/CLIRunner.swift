import CramfsTestSupport
import Foundation
import Testing

/// Runs the built `cramfs` executable (or `$CRAMFS_BIN`).
enum CLI {
  static let executable: String? =
    ProcessInfo.processInfo.environment["CRAMFS_BIN"] ?? builtExecutable("cramfs")

  /// Runs `cramfs arguments...` with output captured.
  static func run(_ arguments: [String]) throws -> ProcessResult {
    let binary = try #require(executable, "the cramfs binary was not built next to the tests; run `swift build --build-tests` first or set CRAMFS_BIN")
    return try runProcess(binary, arguments)
  }

  /// Runs and expects success with nothing on standard error.
  static func succeed(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> ProcessResult {
    let result = try run(arguments)
    #expect(result.status == 0 && !result.crashed, "cramfs \(arguments.joined(separator: " ")): \(result.standardError)", sourceLocation: sourceLocation)
    #expect(result.standardError.isEmpty, sourceLocation: sourceLocation)
    return result
  }
}
