import CramfsTestSupport
import Foundation
import Testing

/// A build killed with SIGKILL at any moment leaves nothing: the image is written to an unnamed file
/// (`O_TMPFILE`) that is named only when complete, and an existing image stays as it was.
@Suite struct KilledBuildTests {
  @Test func sigkillLeavesNoFile() throws {
    let binary = try #require(CLI.executable, "the cramfs binary was not built")
    let root = try makeTemporaryDirectory("killed")
    defer { removeTree(root) }
    // Enough incompressible data that a build takes a while.
    try FileManager.default.createDirectory(atPath: root + "/src", withIntermediateDirectories: true)
    var rng = SeededGenerator(seed: 9)
    for index in 0..<24 {
      guard FileManager.default.createFile(atPath: root + "/src/f\(index)", contents: Data(rng.bytes(1 << 20))) else {
        throw GeneratorError("cannot write the tree")
      }
    }
    try FileManager.default.createDirectory(atPath: root + "/out", withIntermediateDirectories: true)
    var killedEarly = 0
    for (index, delay) in [0.01, 0.05, 0.1, 0.2, 0.3, 0.5].enumerated() {
      let existing = index % 2 == 1
      let image = root + "/out/image"
      if existing { try Data("old".utf8).write(to: URL(fileURLWithPath: image)) }
      let process = Process()
      process.executableURL = URL(fileURLWithPath: binary)
      process.arguments = ["make", "-q", root + "/src", image]
      process.standardError = FileHandle.nullDevice
      try process.run()
      Thread.sleep(forTimeInterval: delay)
      let finished = !process.isRunning
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
      let names = try FileManager.default.contentsOfDirectory(atPath: root + "/out")
      #expect(names.allSatisfy { $0 == "image" }, "left behind after a kill at \(delay) s: \(names)")
      if !finished {
        killedEarly += 1
        if existing {
          #expect(try Data(contentsOf: URL(fileURLWithPath: image)) == Data("old".utf8), "the old image changed")
        } else {
          #expect(!names.contains("image"), "a partial image appeared")
        }
      }
      try? FileManager.default.removeItem(atPath: image)
    }
    #expect(killedEarly >= 3, "the builds finished before they could be killed")
  }
}
