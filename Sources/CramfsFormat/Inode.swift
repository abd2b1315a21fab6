/// The 12-byte inode that precedes each name in a directory, and the root inode in the superblock
/// (`struct cramfs_inode`).
///
/// Stored properties hold the on-disk fields in their on-disk units; computed properties give plain units.
/// The C declaration uses bit fields, so the layout differs between byte orders: each 32-bit word is read
/// in the image's byte order, then unpacked LSB-first (little-endian) or MSB-first (big-endian).
public struct Inode: Hashable, Sendable {
  public static let encodedSize = 12
  /// Longest name, in bytes (`CRAMFS_MAXPATHLEN`, 63 four-byte units).
  public static let maxNameLength = 252
  /// Largest value of the 24-bit `size` field: the largest file, directory or device number.
  public static let maxSize: UInt32 = (1 << 24) - 1
  /// Largest value of the 26-bit `offset` field (in 4-byte units).
  public static let maxOffsetWords: UInt32 = (1 << 26) - 1
  /// Offsets stored in inodes must lie below this byte offset (256 MiB).
  public static let offsetLimit = 1 << 28
  public static let maxUID = UInt32(UInt16.max)
  public static let maxGID = UInt32(UInt8.max)

  /// The longest symlink target the kernel returns whole: it reads a link through one page and cuts it
  /// to a page minus the terminating NUL (`nd_terminate_link(..., PAGE_SIZE - 1)`); an image's page is
  /// its block size.
  public static func maxSymlinkTargetLength(pageSize: Int) -> Int { pageSize - 1 }

  /// `mode`: file type and permission bits (16 bits).
  public var mode: UInt16
  /// `uid`: owner, 16 bits.
  public var uid: UInt16
  /// `size`: 24 bits. Bytes of data for files and symlinks, bytes of entries for directories,
  /// the device number for device nodes.
  public var size: UInt32
  /// `gid`: group, 8 bits.
  public var gid: UInt8
  /// `namelen`: length of the padded name that follows, in 4-byte units (6 bits).
  public var nameWords: UInt8
  /// `offset`: first directory entry or block pointer table, in 4-byte units (26 bits).
  public var offsetWords: UInt32

  public init(mode: UInt16, uid: UInt16, size: UInt32, gid: UInt8, nameWords: UInt8, offsetWords: UInt32) {
    precondition(size <= Inode.maxSize && nameWords <= 63 && offsetWords <= Inode.maxOffsetWords, "inode field out of range")
    self.mode = mode
    self.uid = uid
    self.size = size
    self.gid = gid
    self.nameWords = nameWords
    self.offsetWords = offsetWords
  }

  public var nameByteCount: Int { Int(nameWords) &* 4 }
  public var byteOffset: Int { Int(offsetWords) &* 4 }
  public var fileType: FileType? { FileType(mode: mode) }
  public var permissions: UInt16 { mode & 0o7777 }
}

extension Inode {
  /// Decodes the inode at `offset`. Only checks that 12 bytes are there; the rules are applied elsewhere.
  package init(decoding view: ByteView, at offset: Int) throws(CramfsError) {
    try view.checkRange(offset, Inode.encodedSize, "an inode")
    let w0 = try view.uint32(at: offset)
    let w1 = try view.uint32(at: offset + 4)
    let w2 = try view.uint32(at: offset + 8)
    self.init(words: (w0, w1, w2), byteOrder: view.byteOrder)
  }

  /// Unpacks three words (already converted from the image's byte order).
  public init(words: (UInt32, UInt32, UInt32), byteOrder: ByteOrder) {
    let (w0, w1, w2) = words
    switch byteOrder {
    case .little:  // GCC packs bit fields from the least significant bit...
      mode = UInt16(truncatingIfNeeded: w0)
      uid = UInt16(truncatingIfNeeded: w0 >> 16)
      size = w1 & 0xFF_FFFF
      gid = UInt8(truncatingIfNeeded: w1 >> 24)
      nameWords = UInt8(w2 & 0x3F)
      offsetWords = w2 >> 6
    case .big:  // ...and from the most significant bit on big-endian targets.
      mode = UInt16(truncatingIfNeeded: w0 >> 16)
      uid = UInt16(truncatingIfNeeded: w0)
      size = w1 >> 8
      gid = UInt8(truncatingIfNeeded: w1)
      nameWords = UInt8(w2 >> 26)
      offsetWords = w2 & 0x03FF_FFFF
    }
  }

  /// The three words of this inode (to be written in `byteOrder`); the exact mirror of `init(words:)`.
  public func words(byteOrder: ByteOrder) -> (UInt32, UInt32, UInt32) {
    switch byteOrder {
    case .little:
      return (
        UInt32(mode) | UInt32(uid) << 16,
        (size & 0xFF_FFFF) | UInt32(gid) << 24,
        UInt32(nameWords & 0x3F) | (offsetWords & 0x03FF_FFFF) << 6
      )
    case .big:
      return (
        UInt32(mode) << 16 | UInt32(uid),
        (size & 0xFF_FFFF) << 8 | UInt32(gid),
        UInt32(nameWords & 0x3F) << 26 | (offsetWords & 0x03FF_FFFF)
      )
    }
  }

  package func encode(into writer: inout ByteWriter) {
    let (w0, w1, w2) = words(byteOrder: writer.byteOrder)
    writer.append(w0)
    writer.append(w1)
    writer.append(w2)
  }
}

/// One directory entry: an inode, its name, and where it sits in the image.
public struct DirectoryEntry: Hashable, Sendable {
  /// Byte offset of the entry's inode in the image.
  public var entryOffset: Int
  public var inode: Inode
  /// The name with its NUL padding removed.
  public var name: [UInt8]

  public init(entryOffset: Int, inode: Inode, name: [UInt8]) {
    self.entryOffset = entryOffset
    self.inode = inode
    self.name = name
  }

  /// Bytes this entry occupies: the inode plus the padded name.
  public var encodedSize: Int { Inode.encodedSize + inode.nameByteCount }

  /// The inode number the kernel assigns (`cramino`): the data offset for non-empty files,
  /// directories and symlinks, otherwise the entry's own position + 1.
  public var inodeNumber: UInt64 { Self.inodeNumber(inode: inode, entryOffset: entryOffset) }

  public static func inodeNumber(inode: Inode, entryOffset: Int) -> UInt64 {
    if inode.offsetWords != 0, inode.size != 0, let type = inode.fileType, type.hasData {
      return UInt64(inode.byteOffset)
    }
    return UInt64(entryOffset) + 1
  }

  /// Decodes the entry at `offset`: inode, then `namelen * 4` bytes of name with trailing NULs
  /// stripped (as the kernel does). Throws if the name is empty after stripping.
  package init(decoding view: ByteView, at offset: Int) throws(CramfsError) {
    let inode = try Inode(decoding: view, at: offset)
    let nameBytes = try view.slice(offset + Inode.encodedSize, inode.nameByteCount, "a name")
    var length = nameBytes.count
    while length > 0, nameBytes[length - 1] == 0 { length -= 1 }
    guard length > 0 else {
      throw CramfsError(.corrupted, "directory entry has an empty name", offset: offset)
    }
    self.init(entryOffset: offset, inode: inode, name: Array(nameBytes[0..<length]))
  }

  /// The name as text (invalid UTF-8 is repaired for display).
  public var nameString: String { String(decoding: name, as: UTF8.self) }
}
