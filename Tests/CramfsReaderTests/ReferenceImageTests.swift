import Cramfs
import CramfsTestSupport
import Foundation
import Testing

/// Images made by util-linux `mkfs.cramfs` read back as their source trees, in every variant it makes.
@Suite struct ReferenceImageTests {
  static let variants: [(arguments: [String], blockSize: Int, byteOrder: ByteOrder, pad: Int)] = [
    ([], 4096, .host, 0),
    (["-N", "big"], 4096, .big, 0),
    (["-N", "little"], 4096, .little, 0),
    (["-p"], 4096, .host, 512),
    (["-N", "big", "-p"], 4096, .big, 512),
    (["-b", "16384"], 16384, .host, 0),
    (["-b", "65536", "-N", "big"], 65536, .big, 0),
    (["-z"], 4096, .host, 0),
    (["-z", "-b", "16384", "-N", "big", "-p"], 16384, .big, 512),
  ]

  @Test(arguments: variants.indices)
  func readsReferenceImage(variant: Int) throws {
    let (arguments, blockSize, byteOrder, pad) = Self.variants[variant]
    let tree = try ReaderFixtureTree(seed: UInt64(variant))
    defer { tree.remove() }
    let path = try tree.referenceImage(arguments, name: "image")
    let image = try CramfsImage(path: path)

    #expect(image.geometry.byteOrder == byteOrder)
    #expect(image.geometry.superblockOffset == pad)
    #expect(image.blockSize == blockSize)
    #expect(image.blockSizeWasDetected)
    let checksum = try #require(image.checksum())
    #expect(checksum.stored == checksum.computed)

    var walked: [(path: String, node: Node)] = []
    try image.walk { path, node in walked.append((path, node)) }
    for (path, node) in walked {
      let expected = try ExpectedEntry(hostPath: tree.source.path + path)
      let actual = try ExpectedEntry(image: image, node: node)
      #expect(actual == expected, "\(path)")
    }
    #expect(walked.map(\.path).sorted() == (try hostPaths(below: tree.source)))
  }

  @Test func statMatchesTheKernel() throws {
    let tree = try ReaderFixtureTree(seed: 99)
    defer { tree.remove() }
    let image = try CramfsImage(path: try tree.referenceImage([], name: "image"))

    let root = image.stat(image.root)
    #expect(root.mode & 0o555 == 0o555)
    #expect(root.linkCount == 1)

    let device = image.stat(try image.lookup("/disk"))
    #expect(device.size == 0)
    #expect(device.device == DeviceNumber(major: 8, minor: 17))
    #expect(device.inodeNumber == UInt64(try image.lookup("/disk").entryOffset) + 1)

    let file = try image.lookup("text-4097")
    #expect(image.stat(file).size == 4097)
    #expect(image.stat(file).inodeNumber == UInt64(file.inode.byteOffset))
    #expect(image.stat(file).blocks512 == 9)

    let empty = image.stat(try image.lookup("/empty"))
    #expect(empty.size == 0)
    #expect(empty.inodeNumber & 3 == 1)
  }

  @Test func lookupErrors() throws {
    let tree = try ReaderFixtureTree(seed: 7)
    defer { tree.remove() }
    let image = try CramfsImage(path: try tree.referenceImage([], name: "image"))
    #expect(throws: CramfsError.self) { try image.lookup("/missing") }
    #expect(throws: CramfsError.self) { try image.lookup("/text-1/below-a-file") }
    #expect(throws: CramfsError.self) { try image.contents(of: try image.lookup("/sub")) }
    #expect(try image.lookup("/sub/../sub/./deeper/leaf").name == Array("leaf".utf8))
  }

  @Test func rangesReadLikeTheFile() throws {
    let tree = try ReaderFixtureTree(seed: 3)
    defer { tree.remove() }
    let image = try CramfsImage(path: try tree.referenceImage(["-b", "16384"], name: "image"))
    let node = try image.lookup("/text-70000")
    let whole = try image.contents(of: node)
    var rng = SeededGenerator(seed: 11)
    for _ in 0..<200 {
      let offset = Int(rng.next() % 71_000)
      let count = Int(rng.next() % 40_000)
      let part = try image.read(node, offset: offset, count: count)
      let expected = offset >= whole.count ? [] : Array(whole[offset..<min(whole.count, offset + count)])
      #expect(part == expected)
    }
  }

  @Test func concurrentReadersSeeTheSameBytes() async throws {
    let tree = try ReaderFixtureTree(seed: 5)
    defer { tree.remove() }
    let image = try CramfsImage(path: try tree.referenceImage([], name: "image"))
    let names = ["/random", "/text-70000", "/zeros-then-data", "/text-16385"]
    let expected = try names.map { try image.contents(of: image.lookup($0)) }
    try await withThrowingTaskGroup(of: Bool.self) { group in
      for worker in 0..<16 {
        group.addTask {
          for round in 0..<20 {
            let index = (worker + round) % names.count
            guard try image.contents(of: image.lookup(names[index])) == expected[index] else { return false }
          }
          return true
        }
      }
      for try await ok in group { #expect(ok) }
    }
  }
}
