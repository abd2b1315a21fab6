import Cramfs
import CramfsTestSupport
import Foundation
import Testing

/// Damaged images never trap the reader: every failure is a thrown `CramfsError`.
@Suite struct HostileImageTests {
  /// Opens `bytes` and reads everything reachable; returns the number of errors met.
  static func readEverything(_ bytes: [UInt8]) -> Int {
    var errors = 0
    guard let image = try? CramfsImage(bytes: bytes) else { return 1 }
    do {
      try image.walk { _, node in
        do {
          _ = image.stat(node)
          switch node.type {
          case .regular: _ = try image.contents(of: node)
          case .symlink: _ = try image.readlink(node)
          default: break
          }
        } catch {
          errors += 1
        }
      }
    } catch {
      errors += 1
    }
    return errors
  }

  @Test(arguments: [["-N", "little"], ["-N", "big", "-p"], ["-z", "-b", "16384"]])
  func randomByteFlipsNeverTrap(arguments: [String]) throws {
    let tree = try ReaderFixtureTree(seed: 21)
    defer { tree.remove() }
    let original = Array(try Data(contentsOf: URL(fileURLWithPath: try tree.referenceImage(arguments, name: "image"))))
    #expect(Self.readEverything(original) == 0)
    var rng = SeededGenerator(seed: 1234)
    // Concentrate flips on the metadata (superblock, directories, pointer tables), where they matter most.
    let metadataEnd = min(original.count, 2048)
    for round in 0..<400 {
      var bytes = original
      for _ in 0..<(1 + round % 4) {
        let position = round % 2 == 0 ? Int(rng.next() % UInt64(metadataEnd)) : Int(rng.next() % UInt64(bytes.count))
        bytes[position] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
      }
      _ = Self.readEverything(bytes)
    }
  }

  @Test func truncationsNeverTrap() throws {
    let tree = try ReaderFixtureTree(seed: 22)
    defer { tree.remove() }
    let original = Array(try Data(contentsOf: URL(fileURLWithPath: try tree.referenceImage(["-p"], name: "image"))))
    var cut = 0
    var failures = 0
    while cut < original.count {
      failures += Self.readEverything(Array(original[0..<cut])) > 0 ? 1 : 0
      cut += cut < 4096 ? 13 : 997
    }
    #expect(failures > 0)
  }

  @Test func directoryLoopIsReported() throws {
    // A directory whose entries point back at the root's entries.
    var w = ByteWriter(byteOrder: .little)
    let root = Inode(mode: 0o040755, uid: 0, size: 16, gid: 0, nameWords: 0, offsetWords: 76 / 4)
    let superblock = Superblock(size: 4096, flags: [.fsidVersion2, .sortedDirectories], fsid: FilesystemID(files: 2), root: root)
    superblock.encode(into: &w)
    Inode(mode: 0o040755, uid: 0, size: 16, gid: 0, nameWords: 1, offsetWords: 76 / 4).encode(into: &w)
    w.append(contentsOf: Array("loop".utf8))
    w.pad(toMultipleOf: 4096)
    let image = try CramfsImage(bytes: w.bytes)
    #expect(throws: CramfsError.self) { try image.walk { _, _ in } }
    // Lookups stay finite however deep the loop is followed.
    #expect(try image.lookup("/loop/loop/loop/loop").type == .directory)
  }
}
