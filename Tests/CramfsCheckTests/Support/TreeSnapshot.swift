import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// What a tree on disk holds, as cramfs can represent it: per path, type, mode, owner, size, content
/// digest, symlink target and device number. Two trees that cramfs round-trips have equal snapshots.
struct TreeSnapshot: Equatable, CustomStringConvertible {
  struct Entry: Equatable, CustomStringConvertible {
    var type: String
    var mode: UInt32
    var uid: UInt32
    var gid: UInt32
    var size: Int
    var digest: UInt64
    var target: String?
    var rdev: UInt64

    var description: String {
      "\(type) \(String(mode, radix: 8)) \(uid):\(gid) size \(size) digest \(String(digest, radix: 16))"
        + (target.map { " -> \($0)" } ?? "") + (rdev != 0 ? " rdev \(rdev)" : "")
    }
  }

  var entries: [String: Entry]

  var description: String { entries.keys.sorted().map { "\($0): \(entries[$0]!)" }.joined(separator: "\n") }

  /// Snapshots `root`. `gidMask` applies the 8-bit gid truncation of cramfs to a source tree.
  init(_ root: String) throws {
    entries = [:]
    try walk(root, relative: "")
  }

  private mutating func walk(_ directory: String, relative: String) throws {
    let names = try FileManager.default.contentsOfDirectory(atPath: directory)
    for name in names {
      let path = directory + "/" + name
      let key = relative + "/" + name
      var info = stat()
      guard lstat(path, &info) == 0 else { throw CocoaError(.fileReadUnknown) }
      let format = info.st_mode & S_IFMT
      var entry = Entry(
        type: Self.typeName(format), mode: UInt32(info.st_mode & 0o7777), uid: info.st_uid, gid: info.st_gid,
        size: 0, digest: 0, target: nil, rdev: 0)
      switch format {
      case S_IFREG:
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        entry.size = data.count
        entry.digest = Self.digest(data)
      case S_IFLNK:
        entry.target = try FileManager.default.destinationOfSymbolicLink(atPath: path)
        entry.mode = 0  // symlink permissions mean nothing on Linux
      case S_IFCHR, S_IFBLK:
        entry.rdev = UInt64(info.st_rdev)
      default:
        break
      }
      entries[key] = entry
      if format == S_IFDIR { try walk(path, relative: key) }
    }
  }

  static func typeName(_ format: mode_t) -> String {
    switch format {
    case S_IFREG: "file"
    case S_IFDIR: "dir"
    case S_IFLNK: "symlink"
    case S_IFCHR: "char"
    case S_IFBLK: "block"
    case S_IFIFO: "fifo"
    case S_IFSOCK: "socket"
    default: "unknown"
    }
  }

  /// FNV-1a over the bytes.
  static func digest(_ data: Data) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    data.withUnsafeBytes { raw in
      for byte in raw {
        hash ^= UInt64(byte)
        hash &*= 0x100_0000_01b3
      }
    }
    return hash
  }

  /// The paths whose entries differ, with both sides, for failure messages.
  func differences(from other: TreeSnapshot) -> [String] {
    var lines: [String] = []
    for key in Set(entries.keys).union(other.entries.keys).sorted() where entries[key] != other.entries[key] {
      lines.append("\(key): \(entries[key].map(\.description) ?? "missing") vs \(other.entries[key].map(\.description) ?? "missing")")
    }
    return lines
  }
}

/// Every name directly inside `path` (to prove nothing was written there).
func listing(_ path: String) -> [String] {
  ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
}
