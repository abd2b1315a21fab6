import Cramfs
import CramfsTestSupport
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// A small tree: two compressible files and a directory.
private func smallTree(in workspace: Workspace) throws -> String {
  let tree = workspace.root + "/tree"
  try FileManager.default.createDirectory(atPath: tree + "/dir", withIntermediateDirectories: true)
  let text = (0..<3000).map { "line \($0) of a file that compresses well\n" }.joined()
  try Data(text.utf8).write(to: URL(fileURLWithPath: tree + "/bad"))
  try Data(text.utf8.reversed()).write(to: URL(fileURLWithPath: tree + "/good"))
  try Data("x\n".utf8).write(to: URL(fileURLWithPath: tree + "/dir/small"))
  return tree
}

@Suite(.enabled(if: TestEnvironment.gate(MountTools.available), "needs /dev/fuse, fusermount3 and the built cramfs binary"))
struct LifecycleTests {
  @Test func changesFailWithEROFS() throws {
    let workspace = try Workspace("erofs")
    let tree = try smallTree(in: workspace)
    let mounted = try MountedImage(image: try workspace.make(tree, BuildOptions(), name: "image"))
    defer { _ = try? mounted.unmount() }
    let root = mounted.mountPoint
    func expectEROFS(_ what: String, _ result: Int32) {
      let code = errno
      #expect(result == -1 && code == EROFS, "\(what): result \(result), errno \(code)")
    }
    expectEROFS("open O_WRONLY", open(root + "/good", O_WRONLY))
    expectEROFS("open O_RDWR", open(root + "/good", O_RDWR))
    expectEROFS("open O_CREAT", open(root + "/new", O_WRONLY | O_CREAT, 0o644))
    expectEROFS("mkdir", mkdir(root + "/newdir", 0o755))
    expectEROFS("unlink", unlink(root + "/good"))
    expectEROFS("rmdir", rmdir(root + "/dir"))
    expectEROFS("rename", rename(root + "/good", root + "/renamed"))
    expectEROFS("symlink", symlink("good", root + "/link"))
    expectEROFS("link", link(root + "/good", root + "/hard"))
    expectEROFS("chmod", chmod(root + "/good", 0o600))
    expectEROFS("chown", chown(root + "/good", 1, 1))
    expectEROFS("truncate", truncate(root + "/good", 0))
    expectEROFS("mknod", mknod(root + "/fifo", S_IFIFO | 0o644, 0))
    // Still readable afterwards.
    #expect(try readWholeFile(root + "/dir/small") == Array("x\n".utf8))
  }

  /// A corrupt block gives EIO for that file, a log line naming it, and the daemon serves on.
  @Test func corruptBlockGivesEIOAndOtherFilesStillRead() throws {
    let workspace = try Workspace("corrupt")
    let tree = try smallTree(in: workspace)
    let imagePath = try workspace.make(tree, BuildOptions(), name: "image")
    let image = try CramfsImage(path: imagePath)
    let bad = try image.lookup("/bad")
    let location = try image.location(of: bad, block: 1)
    try #require(location.kind == .compressed)
    var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: imagePath)))
    for index in location.start..<(location.start + location.length) { bytes[index] = 0xFF }
    try Data(bytes).write(to: URL(fileURLWithPath: imagePath))

    let mounted = try MountedImage(image: imagePath)
    #expect(throws: POSIXError.self) { try readWholeFile(mounted.mountPoint + "/bad") }
    let fd = open(mounted.mountPoint + "/bad", O_RDONLY | O_CLOEXEC)
    var buffer = [UInt8](repeating: 0, count: 100)
    let got = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 100, 4096 + 10) }
    let code = errno
    close(fd)
    #expect(got == -1 && code == EIO)
    #expect(try readWholeFile(mounted.mountPoint + "/good") == Array(try Data(contentsOf: URL(fileURLWithPath: tree + "/good"))))
    #expect(try readWholeFile(mounted.mountPoint + "/dir/small") == Array("x\n".utf8))
    let log = mounted.standardError
    #expect(log.contains("/bad") && log.contains("offset"), "\(log)")
    #expect(try mounted.unmount() == 0)
  }

  @Test func sigtermUnmountsCleanly() throws {
    let workspace = try Workspace("sigterm")
    let tree = try smallTree(in: workspace)
    let mounted = try MountedImage(image: try workspace.mkfs(tree, [], name: "image"))
    mounted.process.terminate()
    #expect(try mounted.waitForExit() == 0)
    #expect(!MountTools.isMounted(mounted.mountPoint))
  }

  /// SIGTERM while a reader goes through many small files in order (the prefetcher storing ahead of it,
  /// READs of the same files racing the stores) still ends the daemon and the mount.
  @Test func sigtermDuringSequentialReadsEndsTheDaemon() throws {
    let workspace = try Workspace("sigterm-reading")
    let tree = workspace.root + "/tree"
    for directory in 0..<4 {
      let path = tree + "/d\(directory)"
      try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
      for index in 0..<300 {
        let bytes = (0..<(4096 + index * 37)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index &+ directory) }
        _ = FileManager.default.createFile(atPath: path + "/f\(index)", contents: Data(bytes))
      }
    }
    let image = try workspace.mkfs(tree, [], name: "image")
    for round in 0..<4 {
      let mounted = try MountedImage(image: image)
      let mountPoint = mounted.mountPoint
      let done = DispatchSemaphore(value: 0)
      Thread {
        readEveryFileInOrder(mountPoint)
        done.signal()
      }.start()
      usleep(useconds_t(20_000 + round * 30_000))
      mounted.process.terminate()
      #expect(try mounted.waitForExit() == 0, "round \(round)")
      #expect(!MountTools.isMounted(mountPoint))
      done.wait()
    }
  }

  /// Without -f the command returns once the mount is in place; unmounting ends the daemon.
  @Test func backgroundMountDetachesAndEndsOnUnmount() throws {
    let workspace = try Workspace("background")
    let tree = try smallTree(in: workspace)
    let image = try workspace.mkfs(tree, [], name: "image")
    let mountPoint = workspace.root + "/mnt"
    try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: false)
    let binary = try #require(MountTools.cramfs)
    let result = try MountTools.run(binary, ["mount", image, mountPoint])
    #expect(result.status == 0, "\(result.standardError)")
    #expect(MountTools.isMounted(mountPoint))
    defer { if MountTools.isMounted(mountPoint) { _ = try? MountTools.run("/bin/umount", ["-l", mountPoint]) } }
    #expect(try readWholeFile(mountPoint + "/dir/small") == Array("x\n".utf8))
    let daemons = { daemonProcesses(mentioning: mountPoint) }
    #expect(!daemons().isEmpty)
    #expect(try MountTools.run(MountTools.fusermount, ["-u", mountPoint]).status == 0)
    #expect(!MountTools.isMounted(mountPoint))
    #expect(MountTools.wait { daemons().isEmpty }, "daemon still running: \(daemons())")
  }

  @Test func missingOrBusyMountPointIsOneLineAndNonZero() throws {
    let workspace = try Workspace("mountpoint")
    let tree = try smallTree(in: workspace)
    let image = try workspace.mkfs(tree, [], name: "image")
    let binary = try #require(MountTools.cramfs)
    let missing = try MountTools.run(binary, ["mount", "-f", image, workspace.root + "/no-such-dir"])
    #expect(missing.status != 0)
    #expect(missing.standardError.split(separator: "\n").count == 1 && missing.standardError.contains("no-such-dir"), "\(missing.standardError)")

    let mounted = try MountedImage(image: image)
    defer { _ = try? mounted.unmount() }
    let busy = try MountTools.run(binary, ["mount", "-f", image, mounted.mountPoint])
    #expect(busy.status != 0)
    #expect(busy.standardError.split(separator: "\n").count == 1 && busy.standardError.contains("busy"), "\(busy.standardError)")
    #expect(try readWholeFile(mounted.mountPoint + "/dir/small") == Array("x\n".utf8))
  }
}

/// Live processes whose command line mentions `text`.
func daemonProcesses(mentioning text: String) -> [Int32] {
  guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
  return entries.compactMap { name -> Int32? in
    guard let pid = Int32(name), pid != getpid(),
      let data = FileManager.default.contents(atPath: "/proc/\(name)/cmdline"), !data.isEmpty
    else { return nil }
    let line = String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
    return line.contains(text) && line.contains("mount") ? pid : nil
  }
}

/// Reads every file under `root`, directories in listing order, ignoring errors (the mount may go away).
private func readEveryFileInOrder(_ root: String) {
  guard let names = try? FileManager.default.contentsOfDirectory(atPath: root) else { return }
  for name in names {
    let path = root + "/" + name
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
    if isDirectory.boolValue { readEveryFileInOrder(path) } else { _ = try? readWholeFile(path) }
  }
}
