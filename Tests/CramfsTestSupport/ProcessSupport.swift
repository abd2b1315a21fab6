import Cramfs
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// What a finished process left behind.
public struct ProcessResult: Sendable {
  public var status: Int32
  public var standardOutput: String
  public var standardError: String
}

/// Runs `executable` with `arguments` and captures its output (through files, so large output cannot block).
public func runProcess(_ executable: String, _ arguments: [String]) throws -> ProcessResult {
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
  try process.run()
  process.waitUntilExit()
  try out.close()
  try err.close()
  return ProcessResult(
    status: process.terminationStatus,
    standardOutput: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
    standardError: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
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

/// A description of every entry under `root` (relative path → type, permissions, owner, size, content
/// checksum, link target, device), for comparing a source tree with an extracted one.
///
/// `ownerMask` applies cramfs's truncation (uid 16 bits, gid 8 bits) or squashing.
public func snapshotTree(_ root: String, squashOwners: Bool = false) throws -> [String: String] {
  var result: [String: String] = [:]
  func visit(_ path: String, relative: String) throws {
    var info = stat()
    guard lstat(path, &info) == 0 else { throw GeneratorError("lstat \(path) failed") }
    let type = info.st_mode & S_IFMT
    let uid = squashOwners ? 0 : info.st_uid & 0xFFFF
    let gid = squashOwners ? 0 : info.st_gid & 0xFF
    var line = "mode \(String(info.st_mode, radix: 8)) owner \(uid):\(gid)"
    switch type {
    case S_IFREG:
      let data = FileManager.default.contents(atPath: path) ?? Data()
      let crc = data.withUnsafeBytes { crc32Checksum($0) }
      line += " size \(data.count) crc \(String(crc, radix: 16))"
    case S_IFLNK:
      line += " -> " + ((try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?")
    case S_IFCHR, S_IFBLK:
      line += " rdev \(info.st_rdev)"
    case S_IFDIR:
      let names = try FileManager.default.contentsOfDirectory(atPath: path)
      for name in names { try visit(path + "/" + name, relative: relative + "/" + name) }
    default:
      break
    }
    result[relative.isEmpty ? "/" : relative] = line
  }
  try visit(root, relative: "")
  return result
}

/// The differences between two snapshots, one line each (empty when equal).
public func snapshotDifferences(_ expected: [String: String], _ actual: [String: String])
  -> [String]
{
  var lines: [String] = []
  for key in Set(expected.keys).union(actual.keys).sorted() where expected[key] != actual[key] {
    lines.append("\(key): expected \(expected[key] ?? "nothing"), got \(actual[key] ?? "nothing")")
  }
  return lines
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
