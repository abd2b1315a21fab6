/// How the blocks of one run are encoded before `ImageWriter` places them.
///
/// Items without XIP blocks are one `packed` run: their blocks follow their pointer table back to back
/// with classic (end) pointers. Items with XIP blocks (see `BlockSlot`) add `stored` runs (verbatim:
/// the page-aligned, contiguous direct + uncompressed blocks of the XIP area, and read-bug guard pages)
/// and `directCompressed` blocks (the first compressed block after an XIP block).
package enum BlockEncoding: Hashable, Sendable {
  /// Deflate each block. With `holes`, an all-zero block becomes a zero-length block; with
  /// `storeIncompressible`, a block whose stream is not shorter than the block is stored verbatim
  /// (classic pointer with the `UNCOMPRESSED` flag).
  case packed(holes: Bool, storeIncompressible: Bool)
  /// Verbatim.
  case stored
  /// Deflate, for a direct compressed block (a u16 length, then the stream); verbatim when the stream
  /// would not fit the u16 (64 KiB blocks only).
  case directCompressed
}

/// One file or symlink whose data is stored in the image, in data-area order.
package struct DataItem: Hashable, Sendable {
  /// Index in ``SourceTree/entries``.
  public var entry: Int
  /// Bytes of data (file length or symlink target length), > 0.
  public var size: Int
  public var blockCount: Int
  public var encoding: BlockEncoding
  /// Where each block goes, for items with XIP blocks; nil for items packed whole.
  var xip: XIPItemPlan?
}

/// Where everything goes, decided before any data is compressed.
///
/// Pure: computed from the scanned tree, the duplicate map and the options. What depends on compressed
/// sizes (each item's pointer table offset) is decided by `ImageWriter` as it writes the data area.
package struct ImageLayout: Sendable {
  public var blockSize: Int
  /// 0, or 512 with a pad.
  public var superblockOffset: Int
  /// Bytes of the inserted file after zero padding to 4 (0 without one).
  public var insertedLength: Int
  /// Where the root's entries start (what the root inode points to, even when the root is empty).
  public var rootEntriesOffset: Int
  /// One past the directory area: where the data area starts.
  public var dataStart: Int
  /// For each entry (not the root): the byte offset of its inode.
  public var entryOffsets: [Int]
  /// For each directory: where its entries start (0 when it has none).
  public var childrenOffsets: [Int]
  /// For each directory: bytes of its entries (its inode's `size`).
  public var directorySizes: [Int]
  /// Stored data, in the order `mkfs.cramfs`'s `write_data` writes it (depth first, sorted).
  public var dataItems: [DataItem]
  /// For each entry, the entry whose data it shares, or nil.
  public var duplicateOf: [Int?]
  /// `fsid.files`: 1 + number of entries.
  public var fileCount: Int
  /// `fsid.blocks`: blocks of all stored (non-duplicate) items.
  public var blockCount: Int
  /// Every block of every item in the order it is encoded and written: the packed area (item by item,
  /// each starting with its pointer table), then the XIP area.
  var runs: [BlockRun] = []
  /// The XIP area that follows the packed area (empty without XIP).
  var xipArea = XIPAreaPlan()

  /// Places the directory area and orders the data.
  ///
  /// - Throws: `CramfsError/Code/limitExceeded` naming the directory when its entries exceed
  ///   2^24 − 1 bytes or would start at or past 256 MiB.
  /// - Parameters:
  ///   - tree: the entries, in pre-order.
  ///   - duplicateOf: for each entry, the earlier entry whose data it shares, or nil.
  ///   - options: block size, pad, holes and the other layout options.
  ///   - insertedFileSize: bytes of the file inserted after the superblock (`-i`), or 0.
  ///   - xipRequests: for each entry whose data has XIP blocks, which (see `XIPSelector`).
  public static func plan(
    tree: SourceTree, duplicateOf: [Int?], options: BuildOptions, insertedFileSize: Int,
    xipRequests: [Int: XIPRequest] = [:]
  ) throws(CramfsError) -> ImageLayout {
    let entries = tree.entries
    let insertedLength = (insertedFileSize + 3) & ~3
    let superblockOffset = options.superblockOffset
    let rootEntriesOffset = superblockOffset + Superblock.encodedSize + insertedLength

    var directorySizes = [Int](repeating: 0, count: entries.count)
    for (index, entry) in entries.enumerated() where entry.type == .directory {
      var size = 0
      for child in entry.children {
        size += Inode.encodedSize + ((entries[child].name.count + 3) & ~3)
      }
      guard size <= Int(Inode.maxSize) else {
        throw CramfsError(
          .limitExceeded, "directory has \(size) bytes of entries; the limit is \(Inode.maxSize)",
          path: tree.path(of: index))
      }
      directorySizes[index] = size
    }

    // Directory blocks: the root's first, then every non-empty directory in pre-order, which is
    // the order of `entries` (what `write_directory_structure`'s stack walk produces).
    var entryOffsets = [Int](repeating: 0, count: entries.count)
    var childrenOffsets = [Int](repeating: 0, count: entries.count)
    var cursor = rootEntriesOffset
    for (index, entry) in entries.enumerated()
    where entry.type == .directory && !entry.children.isEmpty {
      guard cursor < Inode.offsetLimit else {
        throw CramfsError(
          .limitExceeded,
          "directory entries would start at 0x\(String(cursor, radix: 16)), past the 256 MiB limit",
          path: tree.path(of: index))
      }
      childrenOffsets[index] = cursor
      for child in entry.children {
        entryOffsets[child] = cursor
        cursor += Inode.encodedSize + ((entries[child].name.count + 3) & ~3)
      }
    }
    childrenOffsets[0] = rootEntriesOffset

    let encoding = BlockEncoding.packed(
      holes: options.holes, storeIncompressible: options.storeIncompressibleBlocks)
    var dataItems: [DataItem] = []
    var blockCount = 0
    for (index, entry) in entries.enumerated()
    where (entry.type == .regular || entry.type == .symlink) && entry.dataSize > 0
      && duplicateOf[index] == nil
    {
      let blocks = (entry.dataSize + options.blockSize - 1) / options.blockSize
      dataItems.append(
        DataItem(entry: index, size: entry.dataSize, blockCount: blocks, encoding: encoding))
      blockCount += blocks
    }

    var layout = ImageLayout(
      blockSize: options.blockSize, superblockOffset: superblockOffset,
      insertedLength: insertedLength,
      rootEntriesOffset: rootEntriesOffset, dataStart: cursor, entryOffsets: entryOffsets,
      childrenOffsets: childrenOffsets, directorySizes: directorySizes, dataItems: dataItems,
      duplicateOf: duplicateOf, fileCount: entries.count, blockCount: blockCount)
    layout.planRuns(xipRequests: xipRequests, options: options)
    return layout
  }

  /// The directory area's bytes, given where each stored item's pointer table ended up.
  ///
  /// - Parameter dataOffsets: for each entry, its pointer table's offset (0 for entries without data);
  ///   duplicates are resolved here.
  func directoryArea(tree: SourceTree, dataOffsets: [Int], byteOrder: ByteOrder) -> [UInt8] {
    var writer = ByteWriter(byteOrder: byteOrder, capacity: dataStart - rootEntriesOffset)
    for (index, entry) in tree.entries.enumerated()
    where entry.type == .directory && !entry.children.isEmpty {
      precondition(
        rootEntriesOffset + writer.bytes.count == childrenOffsets[index],
        "directory area out of order")
      for child in entry.children {
        inode(of: child, tree: tree, dataOffsets: dataOffsets).encode(into: &writer)
        writer.append(contentsOf: tree.entries[child].name)
        writer.pad(toMultipleOf: 4)
      }
    }
    return writer.bytes
  }

  /// The inode written for entry `index` (the root's has no name).
  func inode(of index: Int, tree: SourceTree, dataOffsets: [Int]) -> Inode {
    let entry = tree.entries[index]
    var size: UInt32 = 0
    var offset = 0
    switch entry.type {
    case .directory:
      size = UInt32(directorySizes[index])
      offset = childrenOffsets[index]
    case .regular, .symlink:
      size = UInt32(entry.dataSize)
      offset = dataOffsets[duplicateOf[index] ?? index]
    case .characterDevice, .blockDevice:
      size = entry.device?.inodeSize ?? 0
    case .fifo, .socket:
      break
    }
    let nameWords = index == 0 ? 0 : (entry.name.count + 3) / 4
    return Inode(
      mode: entry.mode, uid: entry.storedUID, size: size, gid: entry.storedGID,
      nameWords: UInt8(nameWords),
      offsetWords: UInt32(offset >> 2))
  }
}
