import Cramfs
import CramfsTestSupport
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// A source tree that changes between the scan and the reading of its files: the build fails with one
/// error naming the file, and leaves no image (nor a temporary file) behind.
@Suite struct ChangingSourceTests {
  enum Change: String, CaseIterable, Sendable {
    case grows, shrinks, vanishes, becomesDirectory, becomesSymlink
  }

  /// A directory input that changes `victim` right after the scan, before the builder reads any data.
  struct ChangingInput: ImageInput {
    var directory: String
    var victim: String
    var change: Change

    func readTree(options: BuildOptions, scratchDirectory: String) throws(CramfsError) -> SourceTree {
      let tree = try DirectoryInput(path: directory).readTree(options: options, scratchDirectory: scratchDirectory)
      let path = directory + "/" + victim
      switch change {
      case .grows:
        let handle = FileHandle(forWritingAtPath: path)!
        handle.seekToEndOfFile()
        handle.write(Data(repeating: 7, count: 5000))
        handle.closeFile()
      case .shrinks:
        _ = truncate(path, 100)
      case .vanishes:
        _ = unlink(path)
      case .becomesDirectory:
        _ = unlink(path)
        _ = mkdir(path, 0o755)
      case .becomesSymlink:
        _ = unlink(path)
        _ = symlink("elsewhere", path)
      }
      return tree
    }
  }

  @Test(arguments: Change.allCases)
  func aChangedFileFailsTheBuild(change: Change) throws {
    let work = try TemporaryDirectory()
    let tree = work.file("tree")
    try FileManager.default.createDirectory(atPath: tree + "/sub", withIntermediateDirectories: true)
    var generator = SeededGenerator(seed: 11)
    try Data(generator.bytes(20_000)).write(to: URL(fileURLWithPath: tree + "/first"))
    try Data(generator.bytes(30_000)).write(to: URL(fileURLWithPath: tree + "/sub/victim"))
    try Data(generator.bytes(10_000)).write(to: URL(fileURLWithPath: tree + "/zlast"))
    let input = ChangingInput(directory: tree, victim: "sub/victim", change: change)
    let output = work.file("out/image")
    try FileManager.default.createDirectory(atPath: work.file("out"), withIntermediateDirectories: true)

    #expect {
      try ImageBuilder.build(from: input, to: output, options: BuildOptions())
    } throws: { error in
      guard let error = error as? CramfsError else { return false }
      return error.code == .io && error.message.contains("sub/victim") && !error.message.contains("\n")
    }
    // Nothing in the output directory: no image, no hidden temporary file.
    #expect(try FileManager.default.contentsOfDirectory(atPath: work.file("out")) == [])
  }
}
