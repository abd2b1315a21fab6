import Cramfs
import CramfsTestSupport
import Foundation
import Testing

#if canImport(FoundationXML)
  import FoundationXML
#endif

/// `cramfs info --svg`: a well-formed picture whose regions add up to the image, with XIP regions exactly
/// when something is mapped in place.
@Suite("info --svg")
struct InfoSVGTests {
  /// What the picture says: the image size, bytes per region kind, and the XIP parts.
  struct Picture {
    var imageSize = 0
    var regions: [String: Int] = [:]
    var hasXIPArea = false
    /// Files per XIP class (`whole`, `partial`, `none`).
    var classFiles: [String: Int] = [:]
  }

  /// Collects the `data-*` attributes of the SVG; fails on malformed XML.
  final class PictureReader: NSObject, XMLParserDelegate {
    var picture = Picture()

    func parser(
      _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
      attributes: [String: String] = [:]
    ) {
      if name == "svg" { picture.imageSize = Int(attributes["data-image-size"] ?? "") ?? -1 }
      if let kind = attributes["data-kind"] { picture.regions[kind, default: 0] += Int(attributes["data-bytes"] ?? "") ?? -1 }
      if attributes["id"] == "xip-area" { picture.hasXIPArea = true }
      if let xipClass = attributes["data-class"] { picture.classFiles[xipClass] = Int(attributes["data-files"] ?? "") ?? -1 }
    }
  }

  static func read(_ path: String) throws -> Picture {
    let parser = try #require(XMLParser(contentsOf: URL(fileURLWithPath: path)))
    let reader = PictureReader()
    parser.delegate = reader
    #expect(parser.parse(), "malformed SVG: \(String(describing: parser.parserError))")
    return reader.picture
  }

  private static func tree(in root: String) throws -> String {
    let tree = root + "/tree"
    try FileManager.default.createDirectory(atPath: tree + "/bin", withIntermediateDirectories: true)
    var rng = SeededGenerator(seed: 3)
    let files: [(String, [UInt8])] = [
      ("bin/a", rng.bytes(9000)), ("bin/b", rng.bytes(20_000)), ("zeros", [UInt8](repeating: 0, count: 16384)),
      ("text", Array(String(repeating: "cramfs & <svg>\n", count: 800).utf8)),
    ]
    for (name, bytes) in files {
      guard FileManager.default.createFile(atPath: tree + "/" + name, contents: Data(bytes)) else { throw GeneratorError("cannot write \(name)") }
    }
    return tree
  }

  @Test func plainImageHasNoXIPRegions() throws {
    let root = try makeTemporaryDirectory("svg")
    defer { removeTree(root) }
    let tree = try Self.tree(in: root)
    _ = try CLI.succeed(["make", "-z", tree, root + "/plain.img"])
    _ = try CLI.succeed(["info", "--svg", root + "/plain.svg", root + "/plain.img"])
    let picture = try Self.read(root + "/plain.svg")
    let size = try readBytes(root + "/plain.img").count
    #expect(picture.imageSize == size)
    #expect(picture.regions.values.reduce(0, +) == size)
    #expect(picture.regions["superblock"] == 76)
    #expect((picture.regions["compressed"] ?? 0) > 0 && (picture.regions["directories"] ?? 0) > 0)
    #expect(picture.regions["XIP pages"] == nil && !picture.hasXIPArea && picture.classFiles.isEmpty)
    // The same image draws the same picture.
    _ = try CLI.succeed(["info", "--svg", root + "/again.svg", root + "/plain.img"])
    #expect(try readBytes(root + "/again.svg") == readBytes(root + "/plain.svg"))
  }

  @Test func xipImageShowsItsXIPAreaAndClasses() throws {
    let root = try makeTemporaryDirectory("svg")
    defer { removeTree(root) }
    let tree = try Self.tree(in: root)
    _ = try CLI.succeed(["make", "-p", "--xip", "/bin/*", tree, root + "/xip.img"])
    _ = try CLI.succeed(["info", "--svg", root + "/xip.svg", root + "/xip.img"])
    let picture = try Self.read(root + "/xip.svg")
    let size = try readBytes(root + "/xip.img").count
    #expect(picture.regions.values.reduce(0, +) == size)
    #expect(picture.regions["boot pad"] == 512)
    #expect((picture.regions["XIP pages"] ?? 0) >= 29_000 && picture.hasXIPArea)
    #expect(picture.classFiles == ["whole": 2, "partial": 0, "none": 2])
  }

  /// Damaged images (random byte flips, mostly in the metadata) give a map that still tiles the image, or
  /// an error: never a trap.
  @Test func damagedImagesNeverTrap() throws {
    let root = try makeTemporaryDirectory("svg")
    defer { removeTree(root) }
    let tree = try Self.tree(in: root)
    var options = BuildOptions()
    options.xipPatterns = ["/bin/a"]
    _ = try ImageBuilder.build(from: tree, to: root + "/xip.img", options: options)
    let original = try readBytes(root + "/xip.img")
    var rng = SeededGenerator(seed: 99)
    var mapped = 0
    for round in 0..<300 {
      var bytes = original
      for _ in 0..<(1 + round % 3) {
        let position = Int(rng.next() % UInt64(round % 2 == 0 ? 1024 : bytes.count))
        bytes[position] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
      }
      guard let image = try? CramfsImage(storage: ImageStorage(copying: bytes)),
        let map = try? ImageSpaceMap(image: image)
      else { continue }
      mapped += 1
      #expect(map.regions.reduce(0) { $0 + $1.length } == map.size)
    }
    #expect(mapped > 0)
  }

  /// The library map: sorted, gap-free regions covering the image, the XIP area page aligned.
  @Test func spaceMapTilesTheImage() throws {
    let root = try makeTemporaryDirectory("svg")
    defer { removeTree(root) }
    let tree = try Self.tree(in: root)
    var options = BuildOptions()
    options.xipPatterns = ["/bin/*"]
    options.holes = true
    _ = try ImageBuilder.build(from: tree, to: root + "/xip.img", options: options)
    let map = try ImageSpaceMap(image: try CramfsImage(path: root + "/xip.img"))
    #expect(map.regions.first?.start == 0 && map.regions.last?.end == map.size)
    #expect(zip(map.regions, map.regions.dropFirst()).allSatisfy { $0.end == $1.start && $0.kind != $1.kind })
    #expect(map.holeBlocks == 4)  // /zeros: four all-zero 4096-byte blocks
    let area = try #require(map.xipArea)
    #expect(area.lowerBound % 4096 == 0 && area.upperBound % 4096 == 0)
    #expect(map.files.filter { $0.mappingClass == .whole }.map(\.path) == ["/bin/a", "/bin/b"])
  }
}
