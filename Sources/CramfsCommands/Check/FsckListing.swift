import Cramfs

/// The entry listing of `fsck.cramfs -v --extract[=DIR]`, line for line: type letter, permissions in four
/// octal digits, the size (or `major, minor` for devices) in nine columns, `uid:gid`, the path under the
/// extraction directory (`/` without one), and `-> target` for symlinks; entries in directory-walk order,
/// each directory before what it holds.
enum FsckListing {
  /// The line `fsck.cramfs -v` starts with.
  static func endiannessLine(_ image: CramfsImage) -> String {
    "cramfs endianness is \(image.geometry.byteOrder.rawValue)\n"
  }

  /// Every entry's line, the root first.
  static func lines(_ image: CramfsImage, directory: String?) throws -> String {
    var out = line(image.root, path: directory ?? "/", image: image)
    try image.walk { path, node in out += line(node, path: (directory ?? "") + path, image: image) }
    return out
  }

  private static func line(_ node: Node, path: String, image: CramfsImage) -> String {
    let inode = node.inode
    let size: String
    switch node.type {
    case .characterDevice, .blockDevice:
      size = pad(String((inode.size >> 8) & 0xFF), 4) + "," + pad(String(inode.size & 0xFF), 4)
    default:
      size = pad(String(inode.size), 9)
    }
    let permissions = String(inode.mode & 0o7777, radix: 8)
    let gid = String(inode.gid)
    var text = "\(node.type.map(typeLetter) ?? "?") \(String(repeating: "0", count: max(0, 4 - permissions.count)) + permissions) \(size) "
      + pad(String(inode.uid), 5) + ":" + gid + String(repeating: " ", count: max(0, 3 - gid.count)) + " " + path
    if node.type == .symlink, let target = try? image.readlink(node) {
      text += " -> " + String(decoding: target, as: UTF8.self)
    }
    return text + "\n"
  }

  private static func typeLetter(_ type: FileType) -> Character {
    switch type {
    case .directory: "d"
    case .regular: "f"
    case .symlink: "l"
    case .characterDevice: "c"
    case .blockDevice: "b"
    case .fifo: "p"
    case .socket: "s"
    }
  }

  /// Right-aligned in `width` columns, as printf's `%Nd`.
  private static func pad(_ text: String, _ width: Int) -> String {
    String(repeating: " ", count: max(0, width - text.count)) + text
  }
}
