import Cramfs
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// One entry of a tree on the host, as `lstat` sees it (symbolic links are not followed).
public struct HostEntry: Sendable, Equatable {
  /// Where the entry is on the host.
  public var hostPath: String
  /// The path relative to the tree's root, with a leading slash (`/dir/file`); `/` for the root.
  public var path: String
  /// `st_mode`: file type and permission bits.
  public var mode: mode_t
  public var uid: uid_t
  public var gid: gid_t
  /// `st_size`.
  public var size: Int
  /// `st_rdev`: the device number of a device node.
  public var device: dev_t
  /// The target of a symbolic link; nil for every other type.
  public var symlinkTarget: String?

  /// Reads the entry at `hostPath` with `lstat` (and `readlink` for a symbolic link), recording it as `path`.
  public init(hostPath: String, path: String = "/") throws {
    var info = stat()
    guard lstat(hostPath, &info) == 0 else {
      throw GeneratorError("lstat \(hostPath): \(String(cString: strerror(errno)))")
    }
    self.hostPath = hostPath
    self.path = path
    mode = info.st_mode
    uid = info.st_uid
    gid = info.st_gid
    size = Int(info.st_size)
    device = info.st_rdev
    if info.st_mode & S_IFMT == S_IFLNK {
      symlinkTarget = try FileManager.default.destinationOfSymbolicLink(atPath: hostPath)
    }
  }

  /// The file type bits of `mode` (`S_IFREG`, `S_IFDIR`, ...).
  public var fileType: mode_t { mode & S_IFMT }
  /// The owner as cramfs stores it: the low 16 bits.
  public var cramfsUID: UInt32 { UInt32(uid) & 0xFFFF }
  /// The group as cramfs stores it: the low 8 bits.
  public var cramfsGID: UInt32 { UInt32(gid) & 0xFF }
  /// The major number of `device`.
  public var deviceMajor: UInt32 { CramfsTestSupport.deviceMajor(device) }
  /// The minor number of `device`.
  public var deviceMinor: UInt32 { CramfsTestSupport.deviceMinor(device) }
}

/// Every entry below `root` (not `root` itself), parents before their children, with paths relative to `root`.
public func hostEntries(below root: String) throws -> [HostEntry] {
  var entries: [HostEntry] = []
  func visit(_ directory: String, relative: String) throws {
    for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
      let entry = try HostEntry(hostPath: directory + "/" + name, path: relative + "/" + name)
      entries.append(entry)
      if entry.fileType == S_IFDIR { try visit(entry.hostPath, relative: entry.path) }
    }
  }
  try visit(root, relative: "")
  return entries
}

/// A description of every entry under `root` and of `root` itself (relative path → permissions, owner,
/// size and content checksum, link target, device), for comparing a source tree with an extracted one.
///
/// Owners are truncated as cramfs truncates them (uid 16 bits, gid 8 bits), or all 0 with `squashOwners`.
public func snapshotTree(_ root: String, squashOwners: Bool = false) throws -> [String: String] {
  var result: [String: String] = [:]
  for entry in try [HostEntry(hostPath: root)] + hostEntries(below: root) {
    let uid = squashOwners ? 0 : entry.cramfsUID
    let gid = squashOwners ? 0 : entry.cramfsGID
    var line = "mode \(String(entry.mode, radix: 8)) owner \(uid):\(gid)"
    switch entry.fileType {
    case S_IFREG:
      let data = FileManager.default.contents(atPath: entry.hostPath) ?? Data()
      let crc = data.withUnsafeBytes { crc32Checksum($0) }
      line += " size \(data.count) crc \(String(crc, radix: 16))"
    case S_IFLNK:
      line += " -> " + (entry.symlinkTarget ?? "?")
    case S_IFCHR, S_IFBLK:
      line += " rdev \(entry.device)"
    default:
      break
    }
    result[entry.path] = line
  }
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

/// glibc's `makedev` (a macro Swift does not import): a host device number.
public func makeDevice(major: UInt32, minor: UInt32) -> dev_t {
  let major = UInt64(major)
  let minor = UInt64(minor)
  return dev_t(
    (minor & 0xFF) | ((major & 0xFFF) << 8) | ((minor & ~0xFF) << 12) | ((major & ~0xFFF) << 32))
}

/// glibc's `major` (a macro Swift does not import): the major number of a host device number.
public func deviceMajor(_ device: dev_t) -> UInt32 {
  UInt32(truncatingIfNeeded: ((device >> 8) & 0xFFF) | ((device >> 32) & ~0xFFF))
}

/// glibc's `minor` (a macro Swift does not import): the minor number of a host device number.
public func deviceMinor(_ device: dev_t) -> UInt32 {
  UInt32(truncatingIfNeeded: (device & 0xFF) | ((device >> 12) & ~0xFF))
}
