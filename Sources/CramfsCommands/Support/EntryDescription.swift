import Cramfs

/// What `list` shows of one entry, as the kernel would report it for a mounted image.
struct EntryDescription {
  /// Path inside the image, from the root (`/a/b`; `/` for the root).
  var path: String
  /// The name shown in a listing (a relative path with `--recursive`).
  var displayName: String
  var node: Node
  var stat: Stat
  /// The target, for a symlink.
  var target: String?

  init(image: CramfsImage, node: Node, path: String, displayName: String) throws(CramfsError) {
    self.path = path
    self.displayName = displayName
    self.node = node
    stat = image.stat(node)
    if node.type == .symlink {
      target = String(decoding: try image.readlink(node), as: UTF8.self)
    }
  }

  /// `drwxr-xr-x`: the type character, then the permissions.
  var modeString: String {
    let mode = UInt16(truncatingIfNeeded: stat.mode)
    return String(node.type?.lsCharacter ?? "?") + permissionString(mode)
  }

  /// The size column: bytes, or `major, minor` for devices.
  var sizeString: String {
    if let device = stat.device { return "\(device.major), \(device.minor)" }
    return String(stat.size)
  }

  /// A stable name for the type, used in JSON.
  var typeName: String { Self.typeName(node.type) }

  static func typeName(_ type: FileType?) -> String {
    switch type {
    case .regular: "file"
    case .directory: "directory"
    case .symlink: "symlink"
    case .characterDevice: "char-device"
    case .blockDevice: "block-device"
    case .fifo: "fifo"
    case .socket: "socket"
    case nil: "unknown"
    }
  }

  var json: JSONValue {
    var members: [(String, JSONValue)] = [
      ("path", .string(path)),
      ("name", .string(node.isRoot ? "/" : node.nameString)),
      ("type", .string(typeName)),
      ("mode", .int(stat.mode)),
      ("permissions", .string(modeString)),
      ("uid", .int(stat.uid)),
      ("gid", .int(stat.gid)),
      ("size", .int(stat.size)),
      ("inode", .int(stat.inodeNumber)),
      ("blocks", .int(stat.blocks512)),
      ("links", .int(stat.linkCount)),
    ]
    if let device = stat.device {
      members.append(("major", .int(device.major)))
      members.append(("minor", .int(device.minor)))
    }
    if let target { members.append(("target", .string(target))) }
    return .object(members)
  }
}

/// Lays out rows of columns the way `ls -l` does: every column but the last padded to its widest
/// cell, numbers right-aligned.
func formatColumns(_ rows: [[String]], rightAligned: Set<Int>) -> String {
  guard let columnCount = rows.first?.count else { return "" }
  var widths = [Int](repeating: 0, count: columnCount)
  for row in rows {
    for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
  }
  var out = ""
  for row in rows {
    for (index, cell) in row.enumerated() {
      if index > 0 { out += " " }
      let padding = String(repeating: " ", count: widths[index] - cell.count)
      if index == columnCount - 1 {
        out += cell
      } else if rightAligned.contains(index) {
        out += padding + cell
      } else {
        out += cell + padding
      }
    }
    out += "\n"
  }
  return out
}
