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
  ///
  /// - Throws: what the walk meets in a corrupt image (``CramfsImage/walk(_:)``).
  init(image: CramfsImage) throws(CramfsError) {
    var summary = ImageSummary()
    try image.walk(from: image.root, path: [], order: .imageOrder) { (_, node) throws(CramfsError) in
      summary.count(node)
      return true
    }
    self = summary
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
