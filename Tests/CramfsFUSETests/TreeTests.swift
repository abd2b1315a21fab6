import Cramfs
import CramfsTestSupport
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// How an image of the generated tree is built.
struct ImageVariant: CustomTestStringConvertible, Sendable {
  enum Builder: Sendable { case ours(BuildOptions), mkfs([String]) }
  var name: String
  var builder: Builder
  var testDescription: String { name }

  static func ours(_ name: String, _ configure: (inout BuildOptions) -> Void) -> ImageVariant {
    var options = BuildOptions()
    options.jobs = 2
    configure(&options)
    return ImageVariant(name: name, builder: .ours(options))
  }

  static let all: [ImageVariant] = [
    .ours("cramfs make, host order, 4K") { _ in },
    .ours("cramfs make, big-endian, padded, 64K, holes, verbatim blocks") {
      $0.byteOrder = .big
      $0.padsBootSector = true
      $0.blockSize = 65536
      $0.holes = true
      $0.storeIncompressibleBlocks = true
    },
    ImageVariant(name: "mkfs.cramfs -N little", builder: .mkfs(["-N", "little"])),
    ImageVariant(name: "mkfs.cramfs -N big -p", builder: .mkfs(["-N", "big", "-p"])),
    ImageVariant(name: "mkfs.cramfs -b 16384", builder: .mkfs(["-b", "16384"])),
  ]

  func build(_ tree: String, in workspace: Workspace) throws -> String {
    switch builder {
    case .ours(let options): try workspace.make(tree, options, name: "image")
    case .mkfs(let arguments): try workspace.mkfs(tree, arguments, name: "image")
    }
  }
}

@Suite(.enabled(if: TestEnvironment.gate(MountTools.available), "needs /dev/fuse, fusermount3 and the built cramfs binary"))
struct TreeTests {
  @Test(arguments: ImageVariant.all)
  func mountedTreeMatchesTheSource(_ variant: ImageVariant) throws {
    let workspace = try Workspace("tree")
    var generator = TreeGenerator(seed: TestSeed.value(0xF05E))
    let tree = try generator.generate(at: workspace.root + "/tree")
    let image = try variant.build(tree.root, in: workspace)
    let mounted = try MountedImage(image: image)
    let differences = snapshotDifferences(try snapshotTree(tree.root), try snapshotTree(mounted.mountPoint))
    #expect(differences.isEmpty, "\(differences.prefix(10).joined(separator: "\n")) (\(tree.replayHint))")
    #expect(try mounted.unmount() == 0)
    #expect(!MountTools.isMounted(mounted.mountPoint))
  }

  /// Inode numbers, link counts, times, sizes and blocks as the kernel reports them (`CramfsImage.stat`).
  @Test func attributesAreTheKernels() throws {
    let workspace = try Workspace("attrs")
    var generator = TreeGenerator(seed: TestSeed.value(0xA77))
    let tree = try generator.generate(at: workspace.root + "/tree")
    let imagePath = try workspace.mkfs(tree.root, [], name: "image")
    let image = try CramfsImage(path: imagePath)
    let mounted = try MountedImage(image: imagePath)
    defer { _ = try? mounted.unmount() }
    var byInode: [UInt64: [String]] = [:]
    var checked = 0
    try image.walk { path, node in
      let expected = image.stat(node)
      var info = stat()
      guard lstat(mounted.mountPoint + path, &info) == 0 else {
        Issue.record("lstat \(path): errno \(errno)")
        return
      }
      #expect(UInt64(info.st_ino) == expected.inodeNumber, "\(path)")
      #expect(info.st_nlink == 1, "\(path)")
      #expect(info.st_mtim.tv_sec == 0 && info.st_ctim.tv_sec == 0, "\(path)")
      #expect(info.st_mode == expected.mode, "\(path)")
      #expect(UInt64(info.st_size) == expected.size, "\(path)")
      #expect(UInt64(info.st_blocks) == expected.blocks512, "\(path)")
      if node.type == .regular, node.inode.size > 0 { byInode[expected.inodeNumber, default: []].append(path) }
      checked += 1
    }
    #expect(checked == tree.entryCount)
    // Deduplicated files share the kernel's inode number, yet each is its own entry with its own content.
    let shared = byInode.values.filter { $0.count > 1 }
    #expect(!shared.isEmpty)
    for paths in shared {
      for path in paths {
        #expect(try readWholeFile(mounted.mountPoint + path) == Array(try Data(contentsOf: URL(fileURLWithPath: tree.root + path))), "\(path)")
      }
    }
  }

  @Test func readdirListsDotsAndEveryEntry() throws {
    let workspace = try Workspace("readdir")
    var generator = TreeGenerator(seed: TestSeed.value(0xD1))
    let tree = try generator.generate(at: workspace.root + "/tree")
    let imagePath = try workspace.mkfs(tree.root, [], name: "image")
    let mounted = try MountedImage(image: imagePath)
    defer { _ = try? mounted.unmount() }
    for directory in ["", "/sizes", "/dups/nested"] {
      let names = try listDirectory(mounted.mountPoint + directory)
      let expected = try FileManager.default.contentsOfDirectory(atPath: tree.root + directory)
      #expect(names.sorted() == ([".", ".."] + expected).sorted(), "\(directory)")
    }
    // A wide directory read in many small getdents calls keeps its order and loses nothing.
    let names = try listDirectory(mounted.mountPoint + "/wide")
    #expect(Set(names).count == names.count)
    #expect(names.count == (try FileManager.default.contentsOfDirectory(atPath: tree.root + "/wide")).count + 2)
  }

  @Test func statfsReportsTheSuperblock() throws {
    let workspace = try Workspace("statfs")
    var generator = TreeGenerator(seed: TestSeed.value(0x57A7))
    let tree = try generator.generate(at: workspace.root + "/tree")
    let imagePath = try workspace.mkfs(tree.root, ["-b", "16384"], name: "image")
    let image = try CramfsImage(path: imagePath)
    let mounted = try MountedImage(image: imagePath)
    defer { _ = try? mounted.unmount() }
    var info = statvfs()
    #expect(statvfs(mounted.mountPoint, &info) == 0)
    #expect(info.f_bsize == 16384)
    #expect(info.f_blocks == UInt(image.superblock.fsid.blocks))
    #expect(info.f_files == UInt(image.superblock.fsid.files))
    #expect(info.f_bfree == 0 && info.f_ffree == 0)
    #expect(info.f_namemax == 252)
    #expect(info.f_flag & UInt(ST_RDONLY) != 0)
  }
}

/// The names `readdir` returns for `path`, read with a small buffer through the C library.
func listDirectory(_ path: String) throws -> [String] {
  guard let directory = opendir(path) else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
  defer { closedir(directory) }
  var names: [String] = []
  while let entry = readdir(directory) {
    let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    names.append(name)
  }
  return names
}
