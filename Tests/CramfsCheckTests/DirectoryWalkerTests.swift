@testable import Cramfs
import CramfsTestSupport
import Testing

/// Hand-made directory loops and chains: the walker's one guard catches each, and every walk of the
/// library (reader, checker, extractor) refuses or reports it instead of looping or trapping.
@Suite struct DirectoryWalkerTests {
  /// `/a/b/f`, `/d/x`, `/s1/f`, `/s2/f`: room for a loop to an ancestor, a self-loop and sharing.
  static let base = HandImage([
    .directory("a", [.directory("b", [.file("f", [1])])]),
    .directory("d", [.directory("x", [])]),
    .directory("s1", [.file("f", [2])]),
    .directory("s2", [.file("f", [3])]),
  ])

  /// `/a/b` holds the root's entries: a loop back to the root.
  static let loopToRoot = base.mutated { image in
    image.updateInode(at: image.inodeOffsets["/a/b"]!) { $0.offsetWords = UInt32(Superblock.encodedSize / 4) }
  }

  /// `/d/x` holds `/d`'s entries: a directory that contains itself.
  static let selfLoop = base.mutated { image in
    let entries = image.directoryOffsets["/d"]!
    let size = image.inode(at: image.inodeOffsets["/d"]!).size
    image.updateInode(at: image.inodeOffsets["/d/x"]!) {
      $0.offsetWords = UInt32(entries / 4)
      $0.size = size
    }
  }

  /// `/s2` holds `/s1`'s entries: sharing, not a loop.
  static let shared = base.mutated { image in
    let entries = image.directoryOffsets["/s1"]!
    image.updateInode(at: image.inodeOffsets["/s2"]!) { $0.offsetWords = UInt32(entries / 4) }
  }

  /// A chain of `depth` directories named `d`, each the only entry of its parent (`/d/d/d/...`).
  static func chain(depth: Int) -> [UInt8] {
    let entrySize = Inode.encodedSize + 4
    let size = (Superblock.encodedSize + depth * entrySize + 4095) / 4096 * 4096
    var writer = ByteWriter(byteOrder: .little)
    let root = Inode(mode: 0o040755, uid: 0, size: UInt32(entrySize), gid: 0, nameWords: 0, offsetWords: UInt32(Superblock.encodedSize / 4))
    Superblock(size: UInt32(size), flags: [.fsidVersion2, .sortedDirectories], fsid: FilesystemID(files: UInt32(depth + 1)), root: root)
      .encode(into: &writer)
    for level in 1...depth {
      let entries = Superblock.encodedSize + level * entrySize
      let isLast = level == depth
      Inode(
        mode: 0o040755, uid: 0, size: isLast ? 0 : UInt32(entrySize), gid: 0, nameWords: 1,
        offsetWords: isLast ? 0 : UInt32(entries / 4)
      ).encode(into: &writer)
      writer.append(contentsOf: [UInt8(ascii: "d"), 0, 0, 0])
    }
    writer.pad(toMultipleOf: 4096)
    return writer.bytes
  }

  /// What the raw walker reports when asked to enter every directory: the paths visited and each
  /// problem as `kind path [first]`.
  static func walk(_ bytes: [UInt8], order: WalkOrder) throws -> (visited: [String], problems: [String]) {
    let image = try CramfsImage(bytes: bytes)
    var walker = DirectoryWalker<String>(view: image.view, order: order)
    var visited: [String] = []
    var problems: [String] = []
    walker.walk(from: .root(image.superblock, superblockOffset: 0, context: "")) { _, _ in
    } visit: { entry, parent, mayEnter in
      let path = parent.context + "/" + String(decoding: entry.name, as: UTF8.self)
      visited.append(path)
      return path
    } problem: { problem, directory in
      switch problem {
      case .alreadyWalked(let first): problems.append("already-walked \(directory.context) \(first.isEmpty ? "/" : first)")
      case .pathTooLong: problems.append("path-too-long \(directory.pathLength)")
      default: problems.append("\(problem) \(directory.context)")
      }
    }
    return (visited, problems)
  }

  @Test(arguments: [WalkOrder.preOrder, .imageOrder])
  func theGuardCatchesEachLoop(order: WalkOrder) throws {
    #expect(try Self.walk(Self.loopToRoot, order: order).problems == ["already-walked /a/b /"])
    #expect(try Self.walk(Self.selfLoop, order: order).problems == ["already-walked /d/x /d"])
    #expect(try Self.walk(Self.shared, order: order).problems == ["already-walked /s2 /s1"])
    let clean = try Self.walk(Self.base.bytes, order: order)
    #expect(clean.problems.isEmpty)
    #expect(Set(clean.visited) == ["/a", "/a/b", "/a/b/f", "/d", "/d/x", "/s1", "/s1/f", "/s2", "/s2/f"])
  }

  @Test func ordersDiffer() throws {
    #expect(try Self.walk(Self.base.bytes, order: .preOrder).visited == ["/a", "/a/b", "/a/b/f", "/d", "/d/x", "/s1", "/s1/f", "/s2", "/s2/f"])
    #expect(try Self.walk(Self.base.bytes, order: .imageOrder).visited == ["/a", "/d", "/s1", "/s2", "/a/b", "/a/b/f", "/d/x", "/s1/f", "/s2/f"])
  }

  /// 10,000 levels: walked iteratively down to the 16 KiB path bound, then refused once.
  @Test(arguments: [WalkOrder.preOrder, .imageOrder])
  func theGuardBoundsADeepChain(order: WalkOrder) throws {
    let (visited, problems) = try Self.walk(Self.chain(depth: 10_000), order: order)
    // `/d` is 2 bytes a level: level 8192 is entered, level 8193 is visited and refused.
    #expect(visited.count == WalkGuard.maxPathLength / 2 + 1)
    #expect(problems == ["path-too-long \(WalkGuard.maxPathLength + 2)"])
  }

  @Test func theReaderWalksThrowOnEachLoop() throws {
    for bytes in [Self.loopToRoot, Self.selfLoop, Self.shared] {
      let image = try CramfsImage(bytes: bytes)
      let error = #expect(throws: CramfsError.self) { try image.walk { _, _ in } }
      #expect(error?.code == .corrupted && error?.message.contains("directory loop") == true)
      #expect(throws: CramfsError.self) { try image.walkInImageOrder { _, _ in } }
    }
    let deep = try CramfsImage(bytes: Self.chain(depth: 10_000))
    let error = #expect(throws: CramfsError.self) { try deep.walk { _, _ in } }
    #expect(error?.message.contains("path is longer than 16384 bytes") == true)
    #expect(throws: CramfsError.self) { try deep.walkInImageOrder { _, _ in } }
  }

  @Test func theCheckerReportsEachLoop() throws {
    #expect(ImageChecker.check(bytes: Self.loopToRoot).codes.contains(.directoryLoop))
    #expect(ImageChecker.check(bytes: Self.selfLoop).codes.contains(.directoryLoop))
    let shared = ImageChecker.check(bytes: Self.shared)
    #expect(shared.codes.contains(.sharedDirectory) && !shared.codes.contains(.directoryLoop))
    let deep = ImageChecker.check(bytes: Self.chain(depth: 10_000))
    #expect(deep.diagnostics.filter { $0.code == .pathTooLong }.count == 1)
  }

  @Test func theExtractorNeverFollowsALoop() throws {
    for bytes in [Self.loopToRoot, Self.selfLoop, Self.shared] {
      let target = try TemporaryDirectory()
      let report = try ImageExtractor.extract(try CramfsImage(bytes: bytes), to: target.file("t"))
      #expect(report.codes.contains(.directoryLoop), "\(report.diagnostics)")
      #expect(report.errorCount == 1, "\(report.diagnostics)")
    }
  }
}
