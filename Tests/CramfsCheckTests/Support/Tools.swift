import CramfsTestSupport
import Testing

/// Runs this package's binaries with the suite's defaults.
enum Tools {
  /// The path of the built executable `name`; a recorded failure when it was not built.
  static func binary(_ name: String) throws -> String {
    try #require(builtExecutable(name), "the executables are not built next to the tests")
  }

  /// Runs `program arguments...`, output captured, killed after `timeout` seconds.
  static func run(_ program: String, _ arguments: [String], timeout: Double = 60) throws -> ProcessResult {
    try runProcess(program, arguments, timeout: timeout)
  }

  /// Runs and requires exit status 0.
  @discardableResult
  static func succeed(_ program: String, _ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> ProcessResult {
    let result = try run(program, arguments)
    #expect(result.status == 0 && !result.crashed, "\(program) \(arguments) failed: \(result.standardError)", sourceLocation: sourceLocation)
    return result
  }
}
