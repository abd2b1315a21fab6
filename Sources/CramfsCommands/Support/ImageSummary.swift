import Cramfs

/// Counts of the entries of an image by type, and the bytes they hold; what `info` reports.
struct ImageSummary {
  /// Directories, the root included.
  var directories = 1
  var files = 0
  var symlinks = 0
  var characterDevices = 0
  var blockDevices = 0
  var fifos = 0
  var sockets = 0
  var unknown = 0
  /// The sum of the sizes of regular files (as read, before compression).
  var fileBytes: UInt64 = 0
  /// The sum of the lengths of symlink targets.
  var symlinkBytes: UInt64 = 0

  var devices: Int { characterDevices + blockDevices }

  /// Walks the whole image.
  init(image: CramfsImage) throws(CramfsError) {
    var summary = ImageSummary()
    var seen: Set<Int> = []
    try summary.descend(image, image.root, seen: &seen)
    self = summary
  }

  private mutating func descend(_ image: CramfsImage, _ directory: Node, seen: inout Set<Int>) throws(CramfsError) {
    if directory.hasData {
      guard seen.insert(directory.inode.byteOffset).inserted else {
        throw CramfsError(.corrupted, "directory loop: entries reached twice", offset: directory.entryOffset, path: directory.nameString)
      }
    }
    for child in try image.children(of: directory) {
      count(child)
      if child.type == .directory { try descend(image, child, seen: &seen) }
    }
  }

  private init() {}

  private mutating func count(_ node: Node) {
    switch node.type {
    case .directory: directories += 1
    case .regular:
      files += 1
      fileBytes += UInt64(node.inode.size)
    case .symlink:
      symlinks += 1
      symlinkBytes += UInt64(node.inode.size)
    case .characterDevice: characterDevices += 1
    case .blockDevice: blockDevices += 1
    case .fifo: fifos += 1
    case .socket: sockets += 1
    case nil: unknown += 1
    }
  }

  var json: JSONValue {
    .object([
      ("directories", .int(directories)), ("files", .int(files)), ("symlinks", .int(symlinks)),
      ("devices", .int(devices)), ("charDevices", .int(characterDevices)), ("blockDevices", .int(blockDevices)),
      ("fifos", .int(fifos)), ("sockets", .int(sockets)), ("unknown", .int(unknown)),
    ])
  }
}
