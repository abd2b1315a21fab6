/// One entry of an image: its inode, name and where it sits. Cheap to copy.
public struct Node: Hashable, Sendable {
  public let inode: Inode
  /// The name (no NUL padding); empty for the root.
  public let name: [UInt8]
  /// Byte offset of the entry's inode (for the root, of the inode inside the superblock).
  public let entryOffset: Int
  /// The inode number the kernel assigns (`cramino`).
  public let inodeNumber: UInt64
  public let isRoot: Bool

  init(inode: Inode, name: [UInt8], entryOffset: Int, inodeNumber: UInt64, isRoot: Bool) {
    self.inode = inode
    self.name = name
    self.entryOffset = entryOffset
    self.inodeNumber = inodeNumber
    self.isRoot = isRoot
  }

  public init(entry: DirectoryEntry) {
    self.init(inode: entry.inode, name: entry.name, entryOffset: entry.entryOffset, inodeNumber: entry.inodeNumber, isRoot: false)
  }

  public var type: FileType? { inode.fileType }
  public var nameString: String { String(decoding: name, as: UTF8.self) }

  /// Whether the entry has data in the image (a non-empty file, symlink or directory).
  public var hasData: Bool { inode.offsetWords != 0 && inode.size != 0 && (type?.hasData ?? false) }

  /// For regular files and symlinks: the number of blocks at `blockSize`.
  public func blockCount(blockSize: Int) -> Int { (Int(inode.size) + blockSize - 1) / blockSize }
}

/// An entry's attributes exactly as the Linux kernel reports them for a mounted cramfs.
public struct Stat: Hashable, Sendable {
  /// Type and permission bits. The root gets `| 0o555`, as the kernel forces.
  public var mode: UInt32
  public var uid: UInt32
  public var gid: UInt32
  /// Bytes for files, symlinks and directories; 0 for devices, fifos and sockets.
  public var size: UInt64
  /// For device nodes, the device number (8-bit major and minor).
  public var device: DeviceNumber?
  public var inodeNumber: UInt64
  /// Always 1: cramfs has no hard links (the kernel does not count directory links).
  public var linkCount: UInt32 { 1 }
  /// 512-byte units, as the kernel computes them: `(size - 1) / 512 + 1` for entries with data.
  public var blocks512: UInt64

  public init(node: Node) {
    var mode = UInt32(node.inode.mode)
    if node.isRoot { mode |= 0o555 }
    self.mode = mode
    uid = UInt32(node.inode.uid)
    gid = UInt32(node.inode.gid)
    // The kernel sets i_size only when the inode number is a data offset (its low two bits are 0).
    let hasSize = node.inodeNumber & 3 == 0 && !(node.type?.isDevice ?? false) && node.type != .fifo && node.type != .socket && node.type != nil
    size = hasSize ? UInt64(node.inode.size) : 0
    blocks512 = hasSize && node.inode.size > 0 ? (UInt64(node.inode.size) - 1) / 512 + 1 : 0
    device = node.type?.isDevice == true ? DeviceNumber(inodeSize: node.inode.size) : nil
    inodeNumber = node.inodeNumber
  }

  public var fileType: FileType? { FileType(mode: UInt16(truncatingIfNeeded: mode)) }
}
