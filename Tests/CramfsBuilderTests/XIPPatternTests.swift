import CramfsTestSupport
import Foundation
import Testing

@testable import Cramfs

/// An XIP pattern that matches no file changes nothing, silently before: now it is a warning naming the
/// pattern (an error with warnings as errors), with a hint when the leading `/` is missing.
@Suite struct XIPPatternTests {
  @Test func unmatchedPatternsAreNamed() throws {
    let root = try makeTemporaryDirectory("xip-pattern")
    defer { removeTree(root) }
    try FileManager.default.createDirectory(atPath: root + "/src/etc", withIntermediateDirectories: true)
    guard FileManager.default.createFile(atPath: root + "/src/etc/data", contents: Data(repeating: 7, count: 9000)) else {
      throw GeneratorError("cannot write the tree")
    }
    func build(_ patterns: [String], errors: Bool = false) throws(CramfsError) -> BuildReport {
      var options = BuildOptions()
      options.xipPatterns = patterns
      options.warningsAreErrors = errors
      return try ImageBuilder.build(from: root + "/src", to: root + "/image", options: options)
    }
    let missingSlash = try build(["etc/*", "/etc/*"])
    #expect(missingSlash.warnings.map(\.path) == ["etc/*"])
    #expect(missingSlash.warnings.first?.kind == .xipPatternUnmatched)
    #expect(missingSlash.warnings.first?.message.contains("'/etc/*'") == true)
    #expect(try build(["/etc/*"]).warnings.isEmpty)
    #expect(try build(["/nothing/*"]).warnings.map(\.path) == ["/nothing/*"])
    #expect(throws: CramfsError.self) { try build(["etc/*"], errors: true) }
  }
}
