import Cramfs
import CramfsTestSupport
import Foundation
import Testing

/// Every tool names itself and the library's version, and exits 0.
@Suite struct VersionTests {
  @Test(arguments: [("cramfs", "--version"), ("mkcramfs", "--version"), ("cramfsck", "-V"), ("cramfsck", "--version")])
  func printsTheVersion(tool: String, flag: String) throws {
    let binary = try #require(builtExecutable(tool), "\(tool) was not built next to the tests")
    let result = try runProcess(binary, [flag])
    #expect(result.status == 0)
    #expect(result.standardOutput == "\(tool) (swift-cramfs) \(swiftCramfsVersion)\n")
    #expect(swiftCramfsVersion.split(separator: ".").count == 3, "a version is MAJOR.MINOR.PATCH[-suffix]")
  }
}
