/// One directory entry as stored, before any judgement on its name.
struct ScannedEntry {
  /// Offset of the entry's inode.
  var offset: Int
  var inode: Inode
  /// The name without its trailing NUL padding.
  var name: [UInt8]
  /// How many NUL bytes of padding followed the name.
  var paddingCount: Int

  var encodedSize: Int { Inode.encodedSize + inode.nameByteCount }
}

/// An entry that runs past the end of its directory: where, and what is wrong. The entries before it
/// were read; nothing after it can be (entries have no length of their own besides their name's).
struct UnreadableEntry: Equatable {
  /// Offset of the entry's inode.
  var offset: Int
  var message: String

  /// The checker's and the extractor's diagnostic for it.
  func diagnostic(path: String) -> Diagnostic {
    Diagnostic(.error, .entryPastDirectoryEnd, message, offset: offset, path: path)
  }
}

/// Reads a directory's entries without trusting them: every read is bounded by the directory's range,
/// and a malformed entry ends the scan with a description instead of an error.
enum DirectoryScanner {
  /// The entries in `[start, start + size)`, plus the entry that runs past that range, if any.
  /// The caller has checked that the range lies inside `view`.
  static func scan(_ view: ByteView, start: Int, size: Int) -> (entries: [ScannedEntry], unreadable: UnreadableEntry?) {
    var entries: [ScannedEntry] = []
    var position = start
    let end = start + size
    while position < end {
      guard end - position >= Inode.encodedSize, let inode = try? Inode(decoding: view, at: position) else {
        return (entries, UnreadableEntry(
          offset: position, message: "directory entry at \(hex(position)) runs past the end of its directory (\(hex(end)))"))
      }
      let nameLength = inode.nameByteCount
      guard nameLength <= end - position - Inode.encodedSize,
        let raw = try? view.slice(position + Inode.encodedSize, nameLength)
      else {
        return (entries, UnreadableEntry(
          offset: position,
          message: "the name of the entry at \(hex(position)) (\(nameLength) bytes) runs past the end of its directory (\(hex(end)))"))
      }
      var length = raw.count
      while length > 0, raw[length - 1] == 0 { length -= 1 }
      entries.append(ScannedEntry(offset: position, inode: inode, name: Array(raw[0..<length]), paddingCount: raw.count - length))
      position += Inode.encodedSize + nameLength
    }
    return (entries, nil)
  }

  /// Why a name cannot be a file name; the message is made only when asked (damaged images have many).
  struct NameProblem {
    var code: Diagnostic.Code
    var name: [UInt8]

    var message: String {
      switch code {
      case .emptyName: "entry has an empty name"
      case .dotName: "entry is named '\(displayName(name))'"
      case .slashInName: "name '\(displayName(name))' contains '/'"
      default: "name '\(displayName(name))' contains a NUL byte"
      }
    }
  }

  /// Why `name` cannot be a file name (nil when it can): empty, `.`, `..`, or containing `/` or NUL.
  static func nameProblem(_ name: [UInt8]) -> NameProblem? {
    let code: Diagnostic.Code
    if name.isEmpty {
      code = .emptyName
    } else if name == [0x2E] || name == [0x2E, 0x2E] {
      code = .dotName
    } else if name.contains(0x2F) {
      code = .slashInName
    } else if name.contains(0) {
      code = .nulInName
    } else {
      return nil
    }
    return NameProblem(code: code, name: name)
  }

  /// The name for messages and paths: invalid UTF-8 repaired, NUL shown as `\0`.
  static func displayName(_ name: [UInt8]) -> String {
    guard name.contains(0) else { return String(decoding: name, as: UTF8.self) }
    // NUL is a whole UTF-8 character, so replacing it before decoding repairs the rest alike.
    var shown: [UInt8] = []
    shown.reserveCapacity(name.count + 8)
    for byte in name {
      if byte == 0 {
        shown.append(UInt8(ascii: "\\"))
        shown.append(UInt8(ascii: "0"))
      } else {
        shown.append(byte)
      }
    }
    return String(decoding: shown, as: UTF8.self)
  }

  /// `parent/name`, with `/` as the root's path.
  static func join(_ parent: String, _ name: [UInt8]) -> String {
    (parent == "/" ? "" : parent) + "/" + displayName(name)
  }
}
