/// Superblock flags (`flags`, offset 8).
public struct SuperblockFlags: OptionSet, Hashable, Sendable, CustomStringConvertible {
  public var rawValue: UInt32
  public init(rawValue: UInt32) { self.rawValue = rawValue }

  /// `size`, `fsid` and the CRC are valid. The corresponding C constant is `CRAMFS_FLAG_FSID_VERSION_2`.
  public static let fsidVersion2 = SuperblockFlags(rawValue: 0x1)
  /// Directory entries are sorted by name. The corresponding C constant is `CRAMFS_FLAG_SORTED_DIRS`.
  public static let sortedDirectories = SuperblockFlags(rawValue: 0x2)
  /// Files may contain holes. The corresponding C constant is `CRAMFS_FLAG_HOLES`.
  public static let holes = SuperblockFlags(rawValue: 0x100)
  /// The signature is not `Compressed ROMFS`. The corresponding C constant is `CRAMFS_FLAG_WRONG_SIGNATURE`.
  public static let wrongSignature = SuperblockFlags(rawValue: 0x200)
  /// The root's entries need not follow the superblock. The corresponding C constant is `CRAMFS_FLAG_SHIFTED_ROOT_OFFSET`.
  public static let shiftedRootOffset = SuperblockFlags(rawValue: 0x400)
  /// Block pointers may carry the direct and uncompressed flags; enables mmap.
  /// The corresponding C constant is `CRAMFS_FLAG_EXT_BLOCK_POINTERS`.
  public static let extendedBlockPointers = SuperblockFlags(rawValue: 0x800)

  /// Bits 2 to 7, which the kernel accepts and ignores (`CRAMFS_FLAG_HOLES - 1` and below).
  public static let reservedCompatible = SuperblockFlags(rawValue: 0xFC)
  /// Every flag the kernel accepts (`CRAMFS_SUPPORTED_FLAGS`, `0xff | holes | wrong signature | shifted | ext`).
  public static let supported = SuperblockFlags(rawValue: 0xFFF)
  /// The flags util-linux `fsck.cramfs` accepts.
  public static let utilLinuxSupported = SuperblockFlags(rawValue: 0xFF)

  /// Bits the kernel does not know; an image that has any is refused at mount.
  public var unknown: SuperblockFlags { subtracting(.supported) }

  public var names: [String] {
    var names: [String] = []
    let known: [(SuperblockFlags, String)] = [
      (.fsidVersion2, "fsid-v2"), (.sortedDirectories, "sorted-dirs"), (.holes, "holes"),
      (.wrongSignature, "wrong-signature"), (.shiftedRootOffset, "shifted-root-offset"),
      (.extendedBlockPointers, "ext-block-pointers"),
    ]
    for (flag, name) in known where contains(flag) { names.append(name) }
    let rest = subtracting(SuperblockFlags(rawValue: 0xF03))
    if !rest.isEmpty { names.append("0x" + String(rest.rawValue, radix: 16)) }
    return names
  }

  public var description: String { "0x" + String(rawValue, radix: 16) + " (" + names.joined(separator: ", ") + ")" }
}

/// The filesystem id (`struct cramfs_info`, the `fsid` member of the superblock).
public struct FilesystemID: Hashable, Sendable {
  /// CRC-32 of the image from the superblock to `size`, computed with this field zeroed.
  public var crc: UInt32
  public var edition: UInt32
  /// Blocks of all non-duplicate files and symlinks (holes count).
  public var blocks: UInt32
  /// 1 + the number of directory entries.
  public var files: UInt32

  public init(crc: UInt32 = 0, edition: UInt32 = 0, blocks: UInt32 = 0, files: UInt32 = 0) {
    self.crc = crc
    self.edition = edition
    self.blocks = blocks
    self.files = files
  }
}

/// The 76-byte superblock at offset 0, or 512 in padded images (`struct cramfs_super`).
public struct Superblock: Hashable, Sendable {
  public static let magic: UInt32 = 0x28CD_3D45
  /// The magic as read from an image of the other byte order (`CRAMFS_MAGIC_WEND`).
  public static let swappedMagic: UInt32 = 0x453D_CD28
  public static let encodedSize = 76
  /// The only pad sizes that exist: 0, or 512 bytes left for boot code.
  public static let padSize = 512
  /// The signature writers put at offset 16 (no NUL).
  public static let standardSignature: [UInt8] = Array("Compressed ROMFS".utf8)
  /// The volume name writers use by default.
  public static let defaultName: [UInt8] = Array("Compressed".utf8)
  /// Offset of `fsid.crc` inside the superblock.
  public static let crcOffset = 32

  /// `size`: length of the whole image including the pad, a multiple of the block size.
  public var size: UInt32
  public var flags: SuperblockFlags
  /// `future`: reserved, written as 0.
  public var future: UInt32
  /// `signature`: 16 bytes, normally `Compressed ROMFS`.
  public var signature: [UInt8]
  public var fsid: FilesystemID
  /// `name`: 16 bytes, NUL padded.
  public var name: [UInt8]
  /// The root directory's inode (its `namelen` is 0).
  public var root: Inode

  public init(
    size: UInt32, flags: SuperblockFlags, future: UInt32 = 0, signature: [UInt8] = Superblock.standardSignature,
    fsid: FilesystemID, name: [UInt8] = Superblock.defaultName, root: Inode
  ) {
    precondition(signature.count <= 16 && name.count <= 16, "signature and name are 16 bytes at most")
    self.size = size
    self.flags = flags
    self.future = future
    self.signature = signature
    self.fsid = fsid
    self.name = name
    self.root = root
  }

  /// The volume name without its NUL padding.
  public var nameString: String {
    String(decoding: name.prefix { $0 != 0 }, as: UTF8.self)
  }

  public var hasStandardSignature: Bool { signature == Superblock.standardSignature }
}

extension Superblock {
  /// Decodes the superblock at `offset`. Checks the magic and that 76 bytes are there, nothing else.
  package init(decoding view: ByteView, at offset: Int) throws(CramfsError) {
    try view.checkRange(offset, Superblock.encodedSize, "the superblock")
    let magic = try view.uint32(at: offset)
    guard magic == Superblock.magic else {
      throw CramfsError(.badMagic, "bad magic 0x\(String(magic, radix: 16))", offset: offset)
    }
    size = try view.uint32(at: offset + 4)
    flags = SuperblockFlags(rawValue: try view.uint32(at: offset + 8))
    future = try view.uint32(at: offset + 12)
    signature = Array(try view.slice(offset + 16, 16))
    fsid = FilesystemID(
      crc: try view.uint32(at: offset + 32), edition: try view.uint32(at: offset + 36),
      blocks: try view.uint32(at: offset + 40), files: try view.uint32(at: offset + 44))
    name = Array(try view.slice(offset + 48, 16))
    root = try Inode(decoding: view, at: offset + 64)
  }

  /// Appends the 76 encoded bytes.
  package func encode(into writer: inout ByteWriter) {
    writer.append(Superblock.magic)
    writer.append(size)
    writer.append(flags.rawValue)
    writer.append(future)
    writer.append(contentsOf: signature + [UInt8](repeating: 0, count: 16 - signature.count))
    writer.append(fsid.crc)
    writer.append(fsid.edition)
    writer.append(fsid.blocks)
    writer.append(fsid.files)
    writer.append(contentsOf: name + [UInt8](repeating: 0, count: 16 - name.count))
    root.encode(into: &writer)
  }

  /// The encoded bytes in `byteOrder`.
  public func encoded(byteOrder: ByteOrder) -> [UInt8] {
    var writer = ByteWriter(byteOrder: byteOrder, capacity: Superblock.encodedSize)
    encode(into: &writer)
    return writer.bytes
  }
}

/// Where an image's superblock is and in which byte order it is written.
public struct ImageGeometry: Hashable, Sendable {
  public var byteOrder: ByteOrder
  /// 0, or 512 for padded images.
  public var superblockOffset: Int

  public init(byteOrder: ByteOrder, superblockOffset: Int) {
    self.byteOrder = byteOrder
    self.superblockOffset = superblockOffset
  }

  /// Finds the magic the way the kernel does (offset 0, then 512) in either byte order.
  ///
  /// - Throws: ``CramfsError/Code/badMagic`` when neither offset holds the magic in either order,
  ///   ``CramfsError/Code/truncated`` when the bytes are too short for a superblock.
  public static func detect(_ bytes: UnsafeRawBufferPointer) throws(CramfsError) -> ImageGeometry {
    guard bytes.count >= Superblock.encodedSize else {
      throw CramfsError(.truncated, "image is \(bytes.count) bytes, shorter than a superblock (76 bytes)", offset: 0)
    }
    for offset in [0, Superblock.padSize] where bytes.count >= offset + Superblock.encodedSize {
      let raw = bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
      for order in [ByteOrder.host, ByteOrder.host == .little ? .big : .little]
      where order.decode(raw) == Superblock.magic {
        return ImageGeometry(byteOrder: order, superblockOffset: offset)
      }
    }
    let first = bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self)
    throw CramfsError(.badMagic, "no cramfs magic at offset 0 or 512 (found 0x\(String(UInt32(littleEndian: first), radix: 16)) at 0)", offset: 0)
  }
}

extension Superblock {
  /// The value `fsid.crc` must hold: CRC-32 (zlib's `crc32`) of the image from the superblock to `size`,
  /// with the CRC field itself taken as zero, as `mkfs.cramfs` computes it and the checkers verify it.
  ///
  /// - Parameters:
  ///   - bytes: the file or buffer holding the image.
  ///   - start: where the superblock is in `bytes` (0, or 512 after a pad).
  ///   - update: one CRC-32 step, `update(crc, bytes)` (the format target has no CRC code of its own).
  /// - Returns: nil when `size` does not cover the superblock or reaches past `bytes`.
  public func expectedCRC(
    in bytes: UnsafeRawBufferPointer, superblockAt start: Int,
    update: (UInt32, UnsafeRawBufferPointer) -> UInt32
  ) -> UInt32? {
    let end = Int(size)
    guard start >= 0, end >= start + Self.encodedSize, end <= bytes.count else { return nil }
    var crc = update(0, UnsafeRawBufferPointer(rebasing: bytes[start..<(start + Self.crcOffset)]))
    let zero: UInt32 = 0
    crc = withUnsafeBytes(of: zero) { update(crc, $0) }
    return update(crc, UnsafeRawBufferPointer(rebasing: bytes[(start + Self.crcOffset + 4)..<end]))
  }
}

extension Superblock {
  /// The bytes the image is made of: `full` cut to `size` when the superblock records one
  /// (`FSID_VERSION_2` and a size that covers the superblock), or all of `full` for old images, whose
  /// extent is measured from their data. A `size` past the end of `full` is not extended (the image is
  /// truncated; readers of the missing part fail with an out-of-bounds error).
  package func boundedView(of full: ByteView, superblockAt start: Int) -> ByteView {
    guard flags.contains(.fsidVersion2), Int(size) >= start + Self.encodedSize else { return full }
    return full.prefix(Int(size))
  }
}
