import Cramfs
import CramfsTestSupport
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// What a finished process printed and how it ended.
struct Finished {
  var status: Int32
  var standardError: String
}

/// Paths and limits shared by the FUSE tests.
enum MountTools {
  static let fusermount = "/usr/bin/fusermount3"
  static let mkfs = "/usr/sbin/mkfs.cramfs"
  /// Longest wait for a mount to appear or a process to end.
  static let timeout: TimeInterval = 20

  /// The built `cramfs` executable, next to the test bundle (or `$CRAMFS_BIN`).
  static let cramfs: String? = {
    if let path = ProcessInfo.processInfo.environment["CRAMFS_BIN"] { return path }
    let candidate = builtProductsDirectory() + "/cramfs"
    return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
  }()

  /// Whether this machine can mount FUSE file systems at all.
  static var available: Bool {
    cramfs != nil && access("/dev/fuse", R_OK | W_OK) == 0 && FileManager.default.isExecutableFile(atPath: fusermount)
  }

  /// Whether `path` is a mount point now (by `/proc/self/mountinfo`).
  static func isMounted(_ path: String) -> Bool {
    guard let text = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return false }
    let escaped = path.replacingOccurrences(of: " ", with: "\\040")
    return text.split(separator: "\n").contains { $0.split(separator: " ").dropFirst(4).first.map(String.init) == escaped }
  }

  /// Polls `condition` every 10 ms until it holds or `timeout` passes.
  static func wait(timeout: TimeInterval = MountTools.timeout, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
      if condition() { return true }
      usleep(10_000)
    }
    return condition()
  }

  /// Runs a command to its end (killed after `timeout`), capturing standard error.
  ///
  /// Uses `posix_spawn` and `waitpid` rather than Foundation's `Process`, which does not notice the end of
  /// a process whose detached child (the background mount daemon) keeps its descriptors.
  static func run(_ executable: String, _ arguments: [String], timeout: TimeInterval = MountTools.timeout) throws -> Finished {
    let scratch = try makeTemporaryDirectory("fuse-run")
    defer { removeTree(scratch) }
    let errPath = scratch + "/err"
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
    guard spawned == 0 else { throw GeneratorError("cannot run \(executable): errno \(spawned)") }
    var status: Int32 = 0
    let ended = wait(timeout: timeout) { waitpid(pid, &status, WNOHANG) == pid }
    if !ended {
      kill(pid, SIGKILL)
      waitpid(pid, &status, 0)
    }
    let text = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
    let exitStatus = status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    return Finished(status: ended ? exitStatus : -1, standardError: text)
  }
}

/// A `cramfs mount -f` running in the background for one test; unmount with ``unmount()``.
final class MountedImage {
  let mountPoint: String
  let process: Process
  private let scratch: String
  private let errPath: String
  private var finished: Finished?

  /// Mounts `image` on a new directory and waits (bounded) for the mount to appear.
  init(image: String, arguments: [String] = []) throws {
    let binary = try #require(MountTools.cramfs, "the cramfs binary was not built next to the tests; set CRAMFS_BIN")
    scratch = try makeTemporaryDirectory("fuse-mount")
    mountPoint = scratch + "/mnt"
    errPath = scratch + "/stderr"
    try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: false)
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
    process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = ["mount", "-f"] + arguments + [image, mountPoint]
    process.standardError = err
    process.standardOutput = FileHandle.nullDevice
    process.standardInput = FileHandle.nullDevice
    try process.run()
    try err.close()
    let mountPoint = self.mountPoint
    let process = self.process
    let appeared = MountTools.wait { MountTools.isMounted(mountPoint) || !process.isRunning }
    guard appeared, MountTools.isMounted(mountPoint) else {
      let status = process.isRunning ? "still running" : "exit \(process.terminationStatus)"
      forceCleanup()
      throw GeneratorError("mount did not appear at \(mountPoint) (\(status)): \(standardError)")
    }
  }

  deinit { forceCleanup() }

  /// What the daemon wrote to standard error so far.
  var standardError: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }

  /// Unmounts with `fusermount3 -u` and waits (bounded) for the daemon to exit; returns its exit status.
  @discardableResult
  func unmount() throws -> Int32 {
    // A child process of a concurrent test may hold a descriptor of this mount for a moment (EBUSY): retry.
    var result = try MountTools.run(MountTools.fusermount, ["-u", mountPoint])
    for _ in 0..<50 where result.status != 0 && MountTools.isMounted(mountPoint) {
      usleep(100_000)
      result = try MountTools.run(MountTools.fusermount, ["-u", mountPoint])
    }
    #expect(result.status == 0, "fusermount3 -u: \(result.standardError)")
    return try waitForExit()
  }

  /// Waits (bounded) for the daemon to exit on its own; returns its exit status.
  func waitForExit() throws -> Int32 {
    let process = self.process
    let exited = MountTools.wait { !process.isRunning }
    #expect(exited, "cramfs mount did not exit after the unmount")
    if !exited { forceCleanup() }
    process.waitUntilExit()
    return process.terminationStatus
  }

  /// Kills the daemon and detaches the mount if a test left them behind, then removes the scratch directory.
  private func forceCleanup() {
    if process.isRunning {
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
    }
    if MountTools.isMounted(mountPoint) {
      _ = try? MountTools.run(MountTools.fusermount, ["-u", "-z", mountPoint])
      _ = try? MountTools.run("/bin/umount", ["-l", mountPoint])
    }
    if !MountTools.isMounted(mountPoint) { removeTree(scratch) }
  }
}

/// A scratch directory with a generated tree, removed at the end of the test.
final class Workspace {
  let root: String

  init(_ name: String) throws {
    root = try makeTemporaryDirectory("fuse-\(name)")
  }

  deinit { removeTree(root) }

  /// Builds `tree` with util-linux `mkfs.cramfs arguments`; returns the image path.
  func mkfs(_ tree: String, _ arguments: [String], name: String) throws -> String {
    let image = root + "/" + name
    let result = try MountTools.run(MountTools.mkfs, arguments + [tree, image], timeout: 120)
    guard result.status == 0 else { throw GeneratorError("mkfs.cramfs \(arguments) failed: \(result.standardError)") }
    return image
  }

  /// Builds `tree` with this package's builder; returns the image path.
  func make(_ tree: String, _ options: BuildOptions, name: String) throws -> String {
    let image = root + "/" + name
    _ = try ImageBuilder.build(from: tree, to: image, options: options)
    return image
  }
}

/// The bytes of a file (through plain POSIX calls, so a mount is read as a program would).
func readWholeFile(_ path: String) throws -> [UInt8] {
  let fd = open(path, O_RDONLY | O_CLOEXEC)
  guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
  defer { close(fd) }
  var result: [UInt8] = []
  var chunk = [UInt8](repeating: 0, count: 65536)
  while true {
    let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    if count < 0 { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    if count == 0 { return result }
    result += chunk[0..<count]
  }
}
