import CramfsTestSupport
import Foundation
import Testing

/// `cramfs map --touch`: every touch order shows the file (its SHA-256 equals the source's) and the
/// counters agree with each other.
@Suite("cramfs map", .timeLimit(.minutes(5)))
struct MapTests {
  @Test("sequential, reverse and random touches", arguments: [[], ["-b", "65536"], ["--xip", "/x*"]])
  func touches(makeArguments: [String]) throws {
    let work = try makeTemporaryDirectory("cramfs-map-cli")
    defer { removeTree(work) }
    try FileManager.default.createDirectory(atPath: work + "/tree", withIntermediateDirectories: true)
    var rng = SeededGenerator(seed: 9)
    // 3 MiB less a little, compressible: a byte pattern with one random byte in four.
    var bytes = [UInt8](repeating: 0, count: (3 << 20) - 321)
    for i in bytes.indices {
      let pattern = UInt8(i / 9 % 241)
      bytes[i] = i % 4 == 0 ? UInt8(truncatingIfNeeded: rng.next()) : pattern
    }
    let data = Data(bytes)
    try data.write(to: URL(fileURLWithPath: work + "/tree/data"))
    try data.write(to: URL(fileURLWithPath: work + "/tree/xip"))
    // Another mode keeps the copy from being deduplicated with the first.
    try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: work + "/tree/xip")
    _ = try CLI.succeed(["make", "-q"] + makeArguments + [work + "/tree", work + "/image"])
    let expected = try #require(String(decoding: runProcess("/usr/bin/sha256sum", [work + "/tree/data"]).standardOutputData, as: UTF8.self).split(separator: " ").first)
    let blockSize = makeArguments.contains("65536") ? 65536 : 4096
    let pages = (data.count + blockSize - 1) / blockSize
    for path in ["/data", "/xip"] {
      for touch in ["sequential", "reverse", "random:1", "random:20"] {
        let result = try CLI.succeed(["map", "--json", "--touch", touch, "--seed", "3", work + "/image", path])
        let report = try #require(try JSONSerialization.jsonObject(with: result.standardOutputData) as? [String: Any])
        let label = "\(makeArguments) \(path) \(touch)"
        #expect(report["sha256"] as? String == String(expected), "\(label)")
        let touched = try #require(report["pagesTouched"] as? Int)
        let filled = try #require(report["pagesFilled"] as? Int)
        let blocks = try #require(report["blocksDecompressed"] as? Int)
        let direct = try #require(report["directPages"] as? Int)
        #expect(report["pages"] as? Int == pages)
        let share: Double = touch == "random:1" ? 0.01 : touch == "random:20" ? 0.2 : 1
        #expect(touched == max(1, Int((Double(pages) * share).rounded())), "\(label)")
        #expect(blocks == filled, "\(label): each page filled once")
        #expect(filled <= pages - direct, "\(label)")
        if !touch.hasPrefix("random") { #expect(filled == pages - direct, "\(label)") }
        if touch == "random:1" { #expect(blocks <= 2 * touched, "\(label)") }
        #expect((direct > 0) == (path == "/xip" && makeArguments.first == "--xip"), "\(label)")
      }
    }
    #expect(try CLI.run(["map", "--touch", "random:0", work + "/image", "/data"]).status != 0)
    #expect(try CLI.run(["map", "--touch", "sideways", work + "/image", "/data"]).status != 0)
  }
}
