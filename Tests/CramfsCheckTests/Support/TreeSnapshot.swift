import CramfsTestSupport
import Foundation

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

  /// Snapshots `root`, owners as they are (no cramfs truncation).
  init(_ root: String) throws {
    entries = [:]
    for host in try hostEntries(below: root) {
      var entry = Entry(
        type: Self.typeName(host.fileType), mode: UInt32(host.mode & 0o7777), uid: host.uid, gid: host.gid,
        size: 0, digest: 0, target: nil, rdev: 0)
      switch host.fileType {
      case S_IFREG:
        let data = try Data(contentsOf: URL(fileURLWithPath: host.hostPath))
        entry.size = data.count
        entry.digest = Self.digest(data)
      case S_IFLNK:
        entry.target = host.symlinkTarget
        entry.mode = 0  // symlink permissions mean nothing on Linux
      case S_IFCHR, S_IFBLK:
        entry.rdev = UInt64(host.device)
      default:
        break
      }
      entries[host.path] = entry
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
