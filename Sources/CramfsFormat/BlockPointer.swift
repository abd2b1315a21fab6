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
    do {
      return try find(block: index, tableOffset: tableOffset, fileSize: fileSize, blockSize: blockSize, in: view)
    } catch {
      throw error.error
    }
  }

  /// Why a block cannot be located, described only when asked: a damaged image can have millions of
  /// unlocatable blocks, and the checker keeps the text of only the first thousand problems.
  package struct Failure: Error {
    package enum Reason {
      /// A pointer or a direct block's length prefix lies outside the image.
      case wordOutOfBounds(bytes: Int)
      /// A classic block's end pointer lies before its start.
      case endsBeforeStart(end: Int, start: Int)
      /// The stored length is above the kernel's limit for its kind.
      case badLength(Int, limit: Int)
    }

    package var block: Int
    package var reason: Reason
    /// The offset of the word out of bounds, or of the block's pointer.
    package var offset: Int
    package var viewSize: Int

    /// `outOfBounds` for a word outside the image, otherwise `corrupted`.
    package var isOutOfBounds: Bool {
      if case .wordOutOfBounds = reason { return true }
      return false
    }

    package var error: CramfsError {
      switch reason {
      case .wordOutOfBounds(let bytes):
        CramfsError(
          .outOfBounds,
          "a \(bytes * 8)-bit word of \(bytes) bytes at 0x\(String(offset, radix: 16)) runs past the end of the image (0x\(String(viewSize, radix: 16)) bytes)",
          offset: offset)
      case .endsBeforeStart(let end, let start):
        CramfsError(
          .corrupted, "block \(block) ends at 0x\(String(end, radix: 16)) before it starts at 0x\(String(start, radix: 16))",
          offset: offset)
      case .badLength(let length, let limit):
        CramfsError(.corrupted, "block \(block) has a bad stored length \(length) (limit \(limit))", offset: offset)
      }
    }
  }

  /// ``locate(block:tableOffset:fileSize:blockSize:in:)`` with the failure left undescribed.
  package static func find(
    block index: Int, tableOffset: Int, fileSize: Int, blockSize: Int, in view: ByteView
  ) throws(Failure) -> BlockLocation {
    let blockCount = (fileSize + blockSize - 1) / blockSize
    precondition(index >= 0 && index < blockCount, "block index out of range")
    func word(at offset: Int) throws(Failure) -> UInt32 {
      guard let value = view.uint32IfInside(at: offset) else {
        throw Failure(block: index, reason: .wordOutOfBounds(bytes: 4), offset: offset, viewSize: view.count)
      }
      return value
    }
    func lengthPrefix(at offset: Int) throws(Failure) -> Int {
      guard let value = view.uint16IfInside(at: offset) else {
        throw Failure(block: index, reason: .wordOutOfBounds(bytes: 2), offset: offset, viewSize: view.count)
      }
      return Int(value)
    }
    let pointerOffset = tableOffset + index * 4
    let pointer = BlockPointer(rawValue: try word(at: pointerOffset))
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
        let length = try lengthPrefix(at: start)
        start += 2
        location = BlockLocation(kind: length == 0 ? .hole : .directCompressed, start: start, length: length, pointer: pointer)
      }
    } else {
      var start = tableOffset + blockCount * 4
      if index > 0 {
        let previous = BlockPointer(rawValue: try word(at: pointerOffset - 4))
        if previous.isDirect {
          start = previous.directStart
          if previous.isUncompressed {
            start += blockSize
          } else {
            start += 2 + (try lengthPrefix(at: start))
          }
        } else {
          start = Int(previous.value)
        }
      }
      let end = Int(pointer.value)
      guard end >= start else {
        throw Failure(block: index, reason: .endsBeforeStart(end: end, start: start), offset: pointerOffset, viewSize: view.count)
      }
      let length = end - start
      let kind: BlockKind = length == 0 ? .hole : (pointer.isUncompressed ? .uncompressed : .compressed)
      location = BlockLocation(kind: kind, start: start, length: length, pointer: pointer)
    }
    let limit = location.kind.isStoredVerbatim ? blockSize : 2 * blockSize
    guard location.length <= limit else {
      throw Failure(block: index, reason: .badLength(location.length, limit: limit), offset: pointerOffset, viewSize: view.count)
    }
    return location
  }
}
