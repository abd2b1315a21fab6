import Cramfs
import CramfsTestSupport
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// `cramfsck -v` prints what `fsck.cramfs -v` prints, byte for byte, on util-linux's own images: the
/// byte order line, and with `--extract[=DIR]` one line per entry (type, mode, size or device numbers,
/// owner, path, link target).
@Suite(.enabled(if: TestEnvironment.gate(UtilLinuxCramfs.isAvailable && getuid() == 0), "needs mkfs.cramfs and root (device nodes, owners)"))
struct CramfsckListingTests {
  @Test(arguments: ["little", "big"])
  func verboseListingMatchesFsckCramfs(order: String) throws {
    let root = try makeTemporaryDirectory("fsck-v")
    defer { removeTree(root) }
    let tree = root + "/tree"
    try FileManager.default.createDirectory(atPath: tree + "/dir/sub", withIntermediateDirectories: true)
    for (name, size) in [("dir/file", 5000), ("dir/sub/empty", 0), ("big", 70_000), ("x", 1)] {
      guard FileManager.default.createFile(atPath: tree + "/" + name, contents: Data(repeating: 65, count: size)) else {
        throw GeneratorError("cannot write \(name)")
      }
    }
    try FileManager.default.createSymbolicLink(atPath: tree + "/link", withDestinationPath: "dir/file")
    #expect(mknod(tree + "/console", S_IFCHR | 0o600, makeDevice(major: 5, minor: 1)) == 0)
    #expect(mknod(tree + "/disk", S_IFBLK | 0o640, makeDevice(major: 8, minor: 17)) == 0)
    #expect(mkfifo(tree + "/fifo", 0o620) == 0)
    #expect(chown(tree + "/x", 1000, 100) == 0 && chmod(tree + "/x", 0o4755) == 0)
    let image = root + "/image"
    try UtilLinuxCramfs.makeImage(["-N", order], source: tree, image: image)
    let cramfsck = try #require(builtExecutable("cramfsck"))
    for arguments in [["-v"], ["-v", "--extract"], ["-v", "--extract=" + root + "/out"]] {
      removeTree(root + "/out")
      let theirs = try runProcess(UtilLinuxCramfs.fsck, arguments + [image])
      removeTree(root + "/out")
      let ours = try runProcess(cramfsck, arguments + [image])
      #expect(theirs.status == 0 && ours.status == 0, "\(arguments): \(theirs.standardError) / \(ours.standardError)")
      #expect(ours.standardOutput == theirs.standardOutput, "\(arguments):\n\(ours.standardOutput)\nfsck.cramfs:\n\(theirs.standardOutput)")
      #expect(theirs.standardOutput.split(separator: "\n").count >= (arguments.count > 1 ? 11 : 1))
    }
  }
}
