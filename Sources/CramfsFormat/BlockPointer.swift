/// One entry of a file's block pointer table.
///
/// Classic pointers hold the offset one past the end of their block. With extended pointers
/// (superblock flag `0x800`) the top bits carry flags: `uncompressed` (bit 31) stores the block
/// verbatim, and `direct` (bit 30) makes the remaining bits the block's *start*, in 4-byte units.
public struct BlockPointer: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
  public var rawValue: UInt32
  public init(rawValue: UInt32) { self.rawValue = rawValue }

  /// The corresponding C constant is `CRAMFS_BLK_FLAG_UNCOMPRESSED`.
  public static let uncompressedFlag: UInt32 = 1 << 31
  /// The corresponding C constant is `CRAMFS_BLK_FLAG_DIRECT_PTR`.
  public static let directFlag: UInt32 = 1 << 30
  public static let flagMask: UInt32 = uncompressedFlag | directFlag

  public var isUncompressed: Bool { rawValue & Self.uncompressedFlag != 0 }
  public var isDirect: Bool { rawValue & Self.directFlag != 0 }
  public var hasFlags: Bool { rawValue & Self.flagMask != 0 }
  /// The pointer without its flag bits.
  public var value: UInt32 { rawValue & ~Self.flagMask }
  /// For a direct pointer: the block's start offset.
  public var directStart: Int { Int(value) << 2 }

  /// A classic pointer: the end of a block (one past its last byte), optionally stored uncompressed.
  public static func end(_ offset: Int, uncompressed: Bool = false) -> BlockPointer {
    precondition(offset >= 0 && offset < 1 << 30, "block end out of range")
    return BlockPointer(rawValue: UInt32(offset) | (uncompressed ? uncompressedFlag : 0))
  }

  /// A direct pointer to a block starting at `start` (4-byte aligned).
  public static func direct(start: Int, uncompressed: Bool) -> BlockPointer {
    precondition(start >= 0 && start % 4 == 0 && start >> 2 < 1 << 30, "direct block start must be 4-byte aligned")
    return BlockPointer(rawValue: UInt32(start >> 2) | directFlag | (uncompressed ? uncompressedFlag : 0))
  }

  public var description: String {
    switch (isDirect, isUncompressed) {
    case (false, false): "end 0x\(String(value, radix: 16))"
    case (false, true): "end 0x\(String(value, radix: 16)) uncompressed"
    case (true, false): "direct 0x\(String(directStart, radix: 16)) compressed"
    case (true, true): "direct 0x\(String(directStart, radix: 16)) uncompressed"
    }
  }
}

/// How one block of a file is stored.
public enum BlockKind: String, Sendable, Hashable, CaseIterable {
  /// A zlib stream between the previous block's end and this pointer.
  case compressed
  /// A zero-length block: reads as zeros.
  case hole
  /// Stored verbatim between the previous block's end and this pointer.
  case uncompressed
  /// Stored verbatim at a direct (absolute) start; the kind XIP maps.
  case directUncompressed
  /// A u16 length then a zlib stream, at a direct start.
  case directCompressed
  /// A full page stored verbatim at a direct start as the last block of a file whose size is a multiple
  /// of the page size. `mmap` maps it like any ``directUncompressed`` page, but the kernel's `read()` takes
  /// the last block's length as `i_size % PAGE_SIZE`, which is 0, and returns zeros for it.
  case directUncompressedFullLastPage

  /// What the kernel's `read()` returns for the block: zeros for a hole, and for a full direct last page.
  public var readsAsZeros: Bool { self == .hole || self == .directUncompressedFullLastPage }

  /// Whether the block is stored verbatim (what `read()` aside, its bytes are the file's).
  public var isStoredVerbatim: Bool {
    self == .uncompressed || self == .directUncompressed || self == .directUncompressedFullLastPage
  }
}

/// Where block `index` of a file is, computed exactly as the kernel's `cramfs_read_folio` does.
public struct BlockLocation: Hashable, Sendable {
  public var kind: BlockKind
  /// Offset of the block's stored bytes (after the u16 prefix of direct compressed blocks).
  public var start: Int
  /// Stored length in bytes (0 for holes).
  public var length: Int
  public var pointer: BlockPointer

  public init(kind: BlockKind, start: Int, length: Int, pointer: BlockPointer) {
    self.kind = kind
    self.start = start
    self.length = length
    self.pointer = pointer
  }

  /// One past the block's last stored byte.
  public var end: Int { start + length }

  /// Locates block `index` of a file whose pointer table sits at `tableOffset`.
  ///
  /// Mirrors the kernel: a non-direct block starts where the previous block ended (right after the
  /// table for block 0; `prev_start + blockSize` after a direct uncompressed block; after the length
  /// prefix and stream of a direct compressed block). A direct uncompressed block is `blockSize` long,
  /// except the file's last, which is `fileSize % blockSize`; when the size is an exact multiple, that last
  /// block is a full page the kernel's `read()` returns as zeros (``BlockKind/directUncompressedFullLastPage``).
  /// Lengths above the kernel's limits throw ``CramfsError/Code/corrupted``.
  package static func locate(
    block index: Int, tableOffset: Int, fileSize: Int, blockSize: Int, in view: ByteView
  ) throws(CramfsError) -> BlockLocation {
    let blockCount = (fileSize + blockSize - 1) / blockSize
    precondition(index >= 0 && index < blockCount, "block index out of range")
    let pointerOffset = tableOffset + index * 4
    let pointer = BlockPointer(rawValue: try view.uint32(at: pointerOffset))
    var location: BlockLocation
    if pointer.isDirect {
      var start = pointer.directStart
      if pointer.isUncompressed {
        var kind = BlockKind.directUncompressed
        var length = blockSize
        if index == blockCount - 1 {
          length = fileSize % blockSize
          if length == 0 {
            kind = .directUncompressedFullLastPage
            length = blockSize
          }
        }
        location = BlockLocation(kind: kind, start: start, length: length, pointer: pointer)
      } else {
        let length = Int(try view.uint16(at: start))
        start += 2
        location = BlockLocation(kind: length == 0 ? .hole : .directCompressed, start: start, length: length, pointer: pointer)
      }
    } else {
      var start = tableOffset + blockCount * 4
      if index > 0 {
        let previous = BlockPointer(rawValue: try view.uint32(at: pointerOffset - 4))
        if previous.isDirect {
          start = previous.directStart
          if previous.isUncompressed {
            start += blockSize
          } else {
            start += 2 + Int(try view.uint16(at: start))
          }
        } else {
          start = Int(previous.value)
        }
      }
      let end = Int(pointer.value)
      guard end >= start else {
        throw CramfsError(
          .corrupted, "block \(index) ends at 0x\(String(end, radix: 16)) before it starts at 0x\(String(start, radix: 16))",
          offset: pointerOffset)
      }
      let length = end - start
      let kind: BlockKind = length == 0 ? .hole : (pointer.isUncompressed ? .uncompressed : .compressed)
      location = BlockLocation(kind: kind, start: start, length: length, pointer: pointer)
    }
    let limit = location.kind.isStoredVerbatim ? blockSize : 2 * blockSize
    guard location.length <= limit else {
      throw CramfsError(
        .corrupted, "block \(index) has a bad stored length \(location.length) (limit \(limit))", offset: pointerOffset)
    }
    return location
  }
}
