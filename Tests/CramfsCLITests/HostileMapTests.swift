import CramfsTestSupport
import Foundation
import Testing

/// `cramfs map` and `cramfs xip` never trust where a damaged image says its data is: on truncated and
/// mutated XIP images (4 KiB little-endian with holes, 64 KiB big-endian) mapping every file with a
/// sequential touch and analysing the image end in an exit status, never a signal (a direct page past the
/// end of the file would be SIGBUS) or a hang.
@Suite("cramfs map and xip on damaged XIP images", .timeLimit(.minutes(10)))
struct HostileMapTests {
  static let paths = ["/x1", "/x2", "/c", "/h"]

  @Test("truncated and mutated images", arguments: [["--xip", "/x*", "-z"], ["--xip", "/x*", "-B", "-b", "65536"]])
  func damagedImages(makeArguments: [String]) throws {
    let work = try makeTemporaryDirectory("cramfs-hostile-map")
    defer { removeTree(work) }
    try makeTree(at: work + "/tree")
    let image = work + "/image"
    _ = try CLI.succeed(["make", "-q"] + makeArguments + [work + "/tree", image])
    let pristine = [UInt8](try Data(contentsOf: URL(fileURLWithPath: image)))
    let binary = try #require(CLI.executable)

    var rng = SeededGenerator(seed: makeArguments.contains("-B") ? 64 : 4)
    var runs = 0, refused = 0
    for variant in 0..<100 {
      var bytes = pristine
      if variant % 2 == 0 {
        // Truncations: anywhere, most of them inside the data (where the direct pages are).
        bytes.removeLast(Int.random(in: 1..<(pristine.count - 64), using: &rng))
      } else {
        // Mutations: a few bytes of the metadata (pointers, offsets, sizes) and one of the data.
        let metadataEnd = min(pristine.count, 8192)
        for _ in 0..<Int.random(in: 1...8, using: &rng) {
          bytes[Int.random(in: 0..<metadataEnd, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
        }
        bytes[Int.random(in: 0..<bytes.count, using: &rng)] ^= 0xFF
      }
      let damaged = work + "/damaged.img"
      try Data(bytes).write(to: URL(fileURLWithPath: damaged))
      for arguments in [["xip", damaged]] + Self.paths.map({ ["map", "--touch", "sequential", damaged, $0] }) {
        let result = try runProcess(binary, arguments, timeout: 30)
        let label = "variant \(variant): cramfs \(arguments.joined(separator: " "))"
        #expect(!result.crashed, "\(label): ended by a signal: \(result.standardError)")
        #expect(!result.timedOut, "\(label): still running after 30 s")
        if result.status != 0 {
          refused += 1
          #expect(result.standardErrorLines.count >= 1, "\(label): failed without saying why")
        }
        runs += 1
      }
    }
    print("hostile map \(makeArguments.joined(separator: " ")): 100 images, \(runs) runs, \(refused) refused with an error")
    #expect(runs == 500)
  }

  /// Files that are mapped directly (`x1`, `x2`: data, and data after zeros), one compressed, one with holes.
  private func makeTree(at tree: String) throws {
    try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
    var rng = SeededGenerator(seed: 1)
    let random = (0..<200_000).map { _ in UInt8.random(in: 0...255, using: &rng) }
    try Data(random).write(to: URL(fileURLWithPath: tree + "/x1"))
    try Data([UInt8](repeating: 0, count: 70_000) + random[0..<90_000]).write(to: URL(fileURLWithPath: tree + "/x2"))
    try Data((0..<(300 << 10)).map { UInt8($0 / 7 % 251) }).write(to: URL(fileURLWithPath: tree + "/c"))
    try Data([UInt8](repeating: 0, count: 150_000) + random[0..<5_000]).write(to: URL(fileURLWithPath: tree + "/h"))
  }
}
