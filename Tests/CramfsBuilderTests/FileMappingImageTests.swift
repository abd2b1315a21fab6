import Cramfs
import CramfsTestSupport
import Foundation
import Testing

/// Every regular file of real images maps to exactly the bytes `read()` gives, with the direct pages
/// `XIPAnalysis` predicts; mkfs.cramfs images (nothing direct) and XIP layouts alike.
@Suite struct FileMappingImageTests {
  static let layouts: [(name: String, configure: @Sendable (inout BuildOptions) -> Void)] = [
    ("compressed", { _ in }),
    ("whole-file XIP", { $0.xipPatterns = ["*"] }),
    ("whole-file XIP, 16 KiB pages", { $0.xipPatterns = ["*"]; $0.blockSize = 16384 }),
    ("half XIP, holes, stored blocks", { $0.xipPatterns = ["/[a-m]*"]; $0.holes = true; $0.storeIncompressibleBlocks = true }),
  ]

  @Test(arguments: layouts.indices, [true, false])
  func everyFileMapsLikeItReads(layout: Int, lazy: Bool) throws {
    let seed = TestSeed.value(0x5EED_0000 + UInt64(layout))
    let work = try makeTemporaryDirectory("cramfs-map-images")
    defer { removeTree(work) }
    var generator = TreeGenerator(seed: seed)
    let tree = try generator.generate(at: work + "/tree")
    var options = BuildOptions()
    Self.layouts[layout].configure(&options)
    try ImageBuilder.build(from: tree.root, to: work + "/image", options: options)
    let image = try CramfsImage(path: work + "/image", blockSize: options.blockSize)
    let predictions = try XIPAnalysis.analyze(image)
    var mapped = 0
    var direct = 0
    var files: [(path: String, node: Node)] = []
    try image.walk { path, node in if node.type == .regular, node.inode.size > 0 { files.append((path, node)) } }
    for (path, node) in files {
      let mapping = try FileMapping(image: image, node: node, lazy: lazy)
      #expect(Array(mapping.bytes) == (try image.contents(of: node)), "\(path), \(tree.replayHint)")
      let predicted = predictions.files.first { $0.path == path }?.directPages
      #expect(mapping.directPages == predicted, "\(path), \(tree.replayHint)")
      #expect(mapping.fillErrors.isEmpty)
      mapped += 1
      direct += mapping.directPages
    }
    #expect(mapped > 10)
    if !options.xipPatterns.isEmpty { #expect(direct > 0) } else { #expect(direct == 0) }
  }

  @Test func mkfsCramfsImagesMap() throws {
    let work = try makeTemporaryDirectory("cramfs-map-mkfs")
    defer { removeTree(work) }
    var generator = TreeGenerator(seed: TestSeed.value(0x5EED_1000))
    let tree = try generator.generate(at: work + "/tree")
    for arguments in [["-N", "little"], ["-p", "-b", "16384"]] {
      let result = try runProcess("/usr/sbin/mkfs.cramfs", arguments + [tree.root, work + "/image"])
      #expect(result.status == 0)
      let image = try CramfsImage(path: work + "/image")
      var files: [(path: String, node: Node)] = []
      try image.walk { path, node in if node.type == .regular, node.inode.size > 0 { files.append((path, node)) } }
      for (path, node) in files {
        let mapping = try FileMapping(image: image, node: node)
        #expect(mapping.directPages == 0)
        #expect(Array(mapping.bytes) == (try image.contents(of: node)), "\(path), \(tree.replayHint)")
      }
    }
  }
}
