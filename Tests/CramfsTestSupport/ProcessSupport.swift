import Cramfs
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// What a finished process left behind.
public struct ProcessResult: Sendable {
  /// The exit status, or the number of the signal that ended the process.
  public var status: Int32
  /// Whether a signal ended the process (a crash) rather than an exit; false when `runProcess` itself
  /// terminated it at its timeout.
  public var crashed: Bool
  /// Whether the process outlived `runProcess`'s timeout and was terminated.
  public var timedOut: Bool
  /// Standard output, byte for byte.
  public var standardOutputData: Data
  /// Standard error, byte for byte.
  public var standardErrorData: Data

  /// Standard output as UTF-8 (invalid bytes replaced, never dropped).
  public var standardOutput: String { String(decoding: standardOutputData, as: UTF8.self) }
  /// Standard error as UTF-8 (invalid bytes replaced, never dropped).
  public var standardError: String { String(decoding: standardErrorData, as: UTF8.self) }
  /// The non-empty lines of standard error.
  public var standardErrorLines: [Substring] { standardError.split(separator: "\n") }
}

/// Runs `executable` with `arguments` and standard input from `/dev/null`, and captures its output
/// (through files, so large output cannot block).
///
/// With a `timeout` (seconds), a process still running then is terminated and reported as `timedOut`.
public func runProcess(_ executable: String, _ arguments: [String], timeout: Double? = nil) throws
  -> ProcessResult
{
  let scratch = try makeTemporaryDirectory("proc")
  defer { removeTree(scratch) }
  let outPath = scratch + "/out"
  let errPath = scratch + "/err"
  guard FileManager.default.createFile(atPath: outPath, contents: nil),
    FileManager.default.createFile(atPath: errPath, contents: nil)
  else { throw GeneratorError("cannot create output files in \(scratch)") }
  let process = Process()
  process.executableURL = URL(fileURLWithPath: executable)
  process.arguments = arguments
  let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
  let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
  process.standardOutput = out
  process.standardError = err
  process.standardInput = FileHandle.nullDevice
  try process.run()
  var timedOut = false
  if let timeout {
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning {
      if Date() > deadline {
        timedOut = true
        process.terminate()
        break
      }
      usleep(2000)
    }
  }
  process.waitUntilExit()
  try out.close()
  try err.close()
  return ProcessResult(
    status: process.terminationStatus,
    crashed: process.terminationReason == .uncaughtSignal && !timedOut,
    timedOut: timedOut,
    standardOutputData: try readData(outPath),
    standardErrorData: try readData(errPath))
}

private func readData(_ path: String) throws -> Data {
  guard let data = FileManager.default.contents(atPath: path) else {
    throw GeneratorError("cannot read \(path)")
  }
  return data
}

/// util-linux's `mkfs.cramfs` and `fsck.cramfs`: the reference implementation the tests compare with.
public enum UtilLinuxCramfs {
  public static let mkfs = "/usr/sbin/mkfs.cramfs"
  public static let fsck = "/usr/sbin/fsck.cramfs"

  /// Whether `mkfs.cramfs` is installed.
  public static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: mkfs) }

  /// Runs `mkfs.cramfs arguments... source image`; throws, with its status and standard error, unless it
  /// exits with status 0.
  public static func makeImage(_ arguments: [String], source: String, image: String) throws {
    let result = try runProcess(mkfs, arguments + [source, image])
    guard result.status == 0 else {
      throw GeneratorError(
        "mkfs.cramfs \(arguments.joined(separator: " ")) failed with status \(result.status): "
          + result.standardError)
    }
  }
}

/// A new empty directory under the temporary directory.
public func makeTemporaryDirectory(_ prefix: String) throws -> String {
  var template = Array("/tmp/cramfs-\(prefix)-XXXXXX".utf8CString)
  guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
    throw GeneratorError("mkdtemp failed")
  }
  return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Removes a tree (modes do not stop root).
public func removeTree(_ path: String) {
  try? FileManager.default.removeItem(atPath: path)
}

/// A new empty directory (see `makeTemporaryDirectory`), removed with everything in it when the value goes away.
public final class TemporaryDirectory: Sendable {
  public let path: String

  public init(_ prefix: String = "test") throws { path = try makeTemporaryDirectory(prefix) }

  deinit { removeTree(path) }

  /// The path of `name` inside the directory.
  public func file(_ name: String) -> String { path + "/" + name }
}

/// The directory holding this package's built executables (`cramfs`, `mkcramfs`), next to the test bundle.
/// `CRAMFS_BIN_DIR` overrides it.
public func builtProductsDirectory() -> String {
  if let override = ProcessInfo.processInfo.environment["CRAMFS_BIN_DIR"] { return override }
  for argument in CommandLine.arguments {
    if let range = argument.range(of: ".xctest") ?? argument.range(of: "PackageTests") {
      let prefix = String(argument[..<range.lowerBound])
      if let slash = prefix.lastIndex(of: "/") { return String(prefix[..<slash]) }
    }
  }
  return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
}

/// The path of this package's built executable `name` (`cramfs`, `cramfsck`, `mkcramfs`), or nil when it
/// was not built: looked for in `builtProductsDirectory()`, then next to the test runner (symlinks resolved)
/// and up to three directories above it.
public func builtExecutable(_ name: String) -> String? {
  var directories = [builtProductsDirectory()]
  var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    .deletingLastPathComponent()
  for _ in 0..<4 {
    directories.append(directory.path)
    directory.deleteLastPathComponent()
  }
  return directories.map { $0 + "/" + name }.first {
    FileManager.default.isExecutableFile(atPath: $0)
  }
}

/// One directory entry of an image, found by walking its directories with the format types only.
public struct ImageEntry: Sendable {
  public var path: String
  public var inode: Inode
}

/// Walks an image's directory tree (classic layout, superblock at 0 or 512) with `CramfsFormat` only:
/// an independent check of what the builder wrote.
public func imageEntries(_ bytes: [UInt8]) throws -> (Superblock, [ImageEntry]) {
  try bytes.withUnsafeBytes { raw in
    let geometry = try ImageGeometry.detect(raw)
    let view = ByteView(raw, byteOrder: geometry.byteOrder)
    let superblock = try Superblock(decoding: view, at: geometry.superblockOffset)
    var entries: [ImageEntry] = []
    func walk(_ inode: Inode, path: String) throws {
      var offset = inode.byteOffset
      let end = offset + Int(inode.size)
      while offset < end {
        let entry = try DirectoryEntry(decoding: view, at: offset)
        let childPath = path + "/" + entry.nameString
        entries.append(ImageEntry(path: childPath, inode: entry.inode))
        if entry.inode.fileType == .directory { try walk(entry.inode, path: childPath) }
        offset += entry.encodedSize
      }
    }
    try walk(superblock.root, path: "")
    return (superblock, entries)
  }
}

/// The bytes of a file.
public func readBytes(_ path: String) throws -> [UInt8] {
  guard let data = FileManager.default.contents(atPath: path) else {
    throw GeneratorError("cannot read \(path)")
  }
  return [UInt8](data)
}
