import Cramfs
import CramfsTestSupport
import Foundation
import Testing

/// Mappings show the file's bytes; direct pages come from the image file and cost no anonymous memory;
/// lazy pages are filled only when touched.
@Suite(.serialized) struct FileMappingTests {
  static func imageFile(_ kinds: [BlockKind], tail: Int) throws -> (CramfsImage, [UInt8], String) {
    let content = BlockKindTests.content(blocks: kinds.count, tail: tail, holes: kinds.indices.filter { kinds[$0] == .hole })
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("cramfs-map-\(UUID().uuidString).img").path
    try Data(BlockKindForge(byteOrder: .host).image(content: content, kinds: kinds)).write(to: URL(fileURLWithPath: path))
    return (try CramfsImage(path: path, blockSize: 4096), content, path)
  }

  static func anonymousBytes() throws -> Int {
    let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
    let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("RssAnon:") })
    return try #require(line.split(separator: " ").compactMap { Int($0) }.first) * 1024
  }

  @Test(arguments: BlockKindTests.patterns.indices, [false, true])
  func contentEqualsRead(pattern: Int, lazy: Bool) throws {
    for tail in [1, 4096] {
      let (image, content, path) = try Self.imageFile(BlockKindTests.patterns[pattern], tail: tail)
      defer { try? FileManager.default.removeItem(atPath: path) }
      let mapping = try FileMapping(image: image, node: try image.lookup("/f"), lazy: lazy)
      #expect(Array(mapping.bytes) == content)
      #expect(Array(mapping.bytes) == (try image.contents(of: try image.lookup("/f"))))
      let predicted = try XIPAnalysis.analyze(image, physicalBase: 0).files[0].directPages
      #expect(mapping.directPages == predicted)
      #expect(mapping.fillErrors.isEmpty)
    }
  }

  @Test func directPagesCostNoAnonymousMemory() throws {
    let pages = 256
    let (direct, directContent, directPath) = try Self.imageFile(Array(repeating: .directUncompressed, count: pages), tail: 100)
    defer { try? FileManager.default.removeItem(atPath: directPath) }
    let (compressed, compressedContent, compressedPath) = try Self.imageFile(Array(repeating: .compressed, count: pages), tail: 100)
    defer { try? FileManager.default.removeItem(atPath: compressedPath) }

    let directMapping = try FileMapping(image: direct, node: try direct.lookup("/f"))
    #expect(directMapping.directPages == pages)
    let before = try Self.anonymousBytes()
    #expect(Array(directMapping.bytes) == directContent)
    let directCost = try Self.anonymousBytes() - before

    let compressedMapping = try FileMapping(image: compressed, node: try compressed.lookup("/f"))
    #expect(compressedMapping.directPages == 0)
    let before2 = try Self.anonymousBytes()
    #expect(Array(compressedMapping.bytes) == compressedContent)
    let compressedCost = try Self.anonymousBytes() - before2
    #expect(compressedMapping.pagesFilled == pages)

    // The comparison copies the content into an array of the same size either way; only the mapping differs.
    #expect(compressedCost - directCost >= pages * 4096 * 9 / 10, "direct \(directCost), compressed \(compressedCost)")
    // Measured on the mappings themselves: direct pages are file pages, filled pages anonymous.
    #expect(directMapping.anonymousBytes() == 0)
    #expect(compressedMapping.anonymousBytes() == pages * 4096)
  }

  @Test func untouchedLazyPagesAreNeverFilled() throws {
    let (image, content, path) = try Self.imageFile(Array(repeating: .compressed, count: 32), tail: 4096)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let mapping = try FileMapping(image: image, node: try image.lookup("/f"), lazy: true)
    // Where userfaultfd is refused, eager filling is the fallback and there is nothing to test; not so in CI.
    #expect(mapping.fillMode == .onDemand || !TestEnvironment.isCI, "userfaultfd is refused on this CI machine")
    guard mapping.fillMode == .onDemand else { return }
    #expect(mapping.pagesFilled == 0)
    #expect(mapping.anonymousBytes() == 0)
    #expect(mapping.bytes[5 * 4096 + 17] == content[5 * 4096 + 17])
    #expect(mapping.bytes[30 * 4096] == content[30 * 4096])
    #expect(mapping.pagesFilled == 2)
    #expect(mapping.anonymousBytes() == 2 * 4096)
  }

  @Test func writableMappingIsPrivate() throws {
    let (image, content, path) = try Self.imageFile([.directUncompressed, .directUncompressed, .compressed], tail: 500)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let before = try Data(contentsOf: URL(fileURLWithPath: path))
    let mapping = try FileMapping(image: image, node: try image.lookup("/f"), writable: true)
    #expect(mapping.directPages == 2)
    mapping.address.storeBytes(of: 0xAB, as: UInt8.self)
    (mapping.address + 2 * 4096 + 3).storeBytes(of: 0xCD, as: UInt8.self)
    #expect(mapping.bytes[0] == 0xAB)
    #expect(mapping.bytes[1...] .elementsEqual(content[1..<(2 * 4096 + 3)] + [0xCD] + content[(2 * 4096 + 4)...]))
    #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
    #expect(try image.contents(of: try image.lookup("/f")) == content)
  }

  @Test func onlyRegularFilesMap() throws {
    let (image, _, path) = try Self.imageFile([.compressed], tail: 10)
    defer { try? FileManager.default.removeItem(atPath: path) }
    #expect(throws: CramfsError.self) { try FileMapping(image: image, node: image.root) }
  }
}

/// Truncated XIP images: neither the analysis nor a mapping trusts a direct page that the file does not
/// hold. Before, touching such a page killed the process with SIGBUS.
@Suite(.timeLimit(.minutes(2))) struct TruncatedMappingTests {
  @Test func directPagesPastTheEndAreNeverMapped() throws {
    let root = try makeTemporaryDirectory("truncated-map")
    defer { removeTree(root) }
    try FileManager.default.createDirectory(atPath: root + "/src", withIntermediateDirectories: true)
    var rng = SeededGenerator(seed: 5)
    for (name, size) in [("a", 20_000), ("b", 4096 * 7), ("c", 70_000), ("d", 300)] {
      guard FileManager.default.createFile(atPath: root + "/src/" + name, contents: Data(rng.bytes(size))) else {
        throw GeneratorError("cannot write \(name)")
      }
    }
    var options = BuildOptions()
    options.xipPatterns = ["*"]
    let full = root + "/full.img"
    _ = try ImageBuilder.build(from: root + "/src", to: full, options: options)
    let bytes = try readBytes(full)
    let fullImage = try CramfsImage(path: full)
    let firstDirect = try XIPAnalysis.analyze(fullImage).files.compactMap(\.directOffset).min() ?? 0
    var cuts = 0
    var pastEnd = 0
    for cut in stride(from: firstDirect, to: bytes.count, by: 1531) {
      let path = root + "/cut.img"
      try Data(bytes[0..<cut]).write(to: URL(fileURLWithPath: path))
      let image = try CramfsImage(path: path, blockSize: 4096)
      cuts += 1
      for file in try XIPAnalysis.analyze(image).files {
        if let offset = file.directOffset {
          #expect(offset + file.directPages * 4096 <= cut, "\(file.path): direct pages past the cut at \(cut)")
        }
        if file.reason == .pastEndOfImage { pastEnd += 1 }
        // Map and touch every byte, lazily filled and eagerly: a direct page past the end would be SIGBUS.
        for lazy in [true, false] {
          guard let mapping = try? FileMapping(image: image, node: try image.lookup(file.path), lazy: lazy) else { continue }
          #expect(mapping.directPages == file.directPages)
          #expect(mapping.bytes.reduce(0) { $0 &+ Int($1) } >= 0)
        }
      }
    }
    #expect(cuts > 50)
    #expect(pastEnd > 0, "no cut fell inside a direct run")
  }
}
