#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A cramfs image found inside a larger file (a flash dump, a firmware update).
public struct FoundImage: Sendable, Hashable {
  /// Whether the CRC in the superblock matches the image.
  public enum CRCStatus: String, Sendable, Hashable {
    case ok
    /// The stored CRC is the right one with its bytes reversed (some old tools wrote it so).
    case byteSwapped = "byte-swapped"
    case mismatch
    /// No `FSID_VERSION_2` flag (no CRC), or the image is cut off.
    case unavailable
  }

  /// Where the image starts in the file (its 512-byte pad included).
  public var offset: Int
  /// The image opened for reading (its data may be cut off).
  public let image: CramfsImage
  /// Bytes the image spans: the superblock's `size`, or, without `FSID_VERSION_2` (where that field means
  /// nothing), the end of its last structure.
  public var size: Int
  /// Whether ``size`` was measured from the data rather than read from the superblock.
  public var sizeIsMeasured: Bool
  /// Bytes of the image present in the file.
  public var available: Int
  public var crc: CRCStatus
  /// Entries below the root (nil when the tree cannot be walked).
  public var entries: Int?
  /// The first problem met while walking the tree, if any.
  public var problem: String?
  /// The offset of another found image that contains this one.
  public var enclosingOffset: Int?

  /// Whether the whole image is in the file.
  public var isComplete: Bool { available >= size }

  public static func == (a: FoundImage, b: FoundImage) -> Bool { a.offset == b.offset && a.size == b.size }
  public func hash(into hasher: inout Hasher) {
    hasher.combine(offset)
    hasher.combine(size)
  }
}

/// Finds every cramfs image in a file: the magic in either byte order at any byte offset, checked against
/// the rest of the superblock (signature or `WRONG_SIGNATURE`, a root directory, known flags) and a root
/// directory that reads, with or without the 512-byte pad in front.
///
///     for found in try ImageScanner.scan(path: "flash.bin") {
///       print(found.offset, found.image.geometry.byteOrder, found.isComplete)
///     }
public enum ImageScanner {
  /// Scans the file at `path` (memory-mapped).
  ///
  /// - Parameters:
  ///   - path: the file to search (a flash dump, a firmware update).
  ///   - progress: advanced by the bytes searched (each byte order is one pass over the file) and
  ///     the images found; nil counts nothing.
  public static func scan(path: String, progress: ProgressCounter? = nil) throws(CramfsError) -> [FoundImage] {
    scan(ImageStorage(mapping: try MappedFile(path: path)), progress: progress)
  }

  /// Scans the bytes held by `storage`.
  package static func scan(_ storage: ImageStorage, progress: ProgressCounter? = nil) -> [FoundImage] {
    let bytes = storage.bytes
    var found: [FoundImage] = []
    progress?.addTotals(bytes: bytes.count * ByteOrder.allCases.count)
    for hit in magicPositions(in: bytes, progress: progress) {
      guard let image = open(storage, superblockAt: hit) else { continue }
      progress?.addEntries()
      var result = describe(image, storage: storage)
      result.enclosingOffset = found.last { $0.offset < result.offset && result.offset < $0.offset + $0.size }?.offset
      found.append(result)
    }
    return found
  }

  /// Every offset holding the magic in either byte order, in increasing order.
  static func magicPositions(in bytes: UnsafeRawBufferPointer, progress: ProgressCounter? = nil) -> [Int] {
    guard let base = bytes.baseAddress, bytes.count >= 4 else {
      progress?.addBytes(bytes.count * ByteOrder.allCases.count)
      return []
    }
    var positions: [Int] = []
    for order in ByteOrder.allCases {
      let pattern = order.encode(Superblock.magic)
      let first = withUnsafeBytes(of: pattern) { Int32($0[0]) }
      var start = 0
      // Progress is reported per MiB, not per candidate (a candidate byte comes every few hundred bytes).
      var reported = 0
      // memchr finds the candidates' first byte quickly; the other three are compared here.
      while start <= bytes.count - 4, let hit = memchr(base + start, first, bytes.count - 3 - start) {
        let position = base.distance(to: UnsafeRawPointer(hit))
        if bytes.loadUnaligned(fromByteOffset: position, as: UInt32.self) == pattern { positions.append(position) }
        start = position + 1
        if start - reported >= 1 << 20 {
          progress?.addBytes(start - reported)
          reported = start
        }
      }
      progress?.addBytes(bytes.count - reported)
    }
    return positions.sorted()
  }

  /// The image whose superblock sits at `hit`: the start is `hit`, or `hit - 512` for a padded image
  /// (the root offset tells which; with an inserted file, whichever reads).
  private static func open(_ storage: ImageStorage, superblockAt hit: Int) -> CramfsImage? {
    let bytes = storage.bytes
    guard hit + Superblock.encodedSize <= bytes.count else { return nil }
    for order in ByteOrder.allCases {
      let view = ByteView(UnsafeRawBufferPointer(rebasing: bytes[hit...]), byteOrder: order)
      guard let superblock = try? Superblock(decoding: view, at: 0),
        superblock.hasStandardSignature || superblock.flags.contains(.wrongSignature),
        superblock.flags.unknown.isEmpty, superblock.root.fileType == .directory
      else { continue }
      let rootOffset = superblock.root.byteOffset
      var starts: [Int]
      switch rootOffset {
      case Superblock.encodedSize, 0: starts = [hit]
      case Superblock.padSize + Superblock.encodedSize: starts = hit >= Superblock.padSize ? [hit - Superblock.padSize] : []
      default: starts = superblock.flags.contains(.shiftedRootOffset) ? [hit, hit - Superblock.padSize].filter { $0 >= 0 } : []
      }
      for start in starts {
        guard let image = try? CramfsImage(storage: storage, offset: start),
          image.geometry.superblockOffset == hit - start, image.geometry.byteOrder == order
        else { continue }
        // The root's entries must read, unless the image is cut off before them.
        let cutOff = superblock.flags.contains(.fsidVersion2) && Int(superblock.size) > bytes.count - start
        if let children = try? image.children(of: image.root) {
          if children.allSatisfy({ !$0.name.contains(UInt8(ascii: "/")) }) { return image }
        } else if cutOff {
          return image
        }
      }
    }
    return nil
  }

  private static func describe(_ image: CramfsImage, storage: ImageStorage) -> FoundImage {
    let offset = image.imageOffset
    let available = storage.bytes.count - offset
    var entries = 0
    var extent = image.geometry.superblockOffset + Superblock.encodedSize
    var problem: String?
    let measure = !image.superblock.flags.contains(.fsidVersion2)
    do {
      try image.walk { (_, node) throws(CramfsError) in
        entries += 1
        guard measure else { return }
        extent = max(extent, try structureEnd(of: node, in: image))
      }
    } catch {
      problem = "\(error)"
    }
    let size = measure ? (extent + 3) / 4 * 4 : Int(image.superblock.size)
    var crc = FoundImage.CRCStatus.unavailable
    if !measure, size <= available, let checksum = image.checksum() {
      crc = checksum.stored == checksum.computed ? .ok : checksum.stored == checksum.computed.byteSwapped ? .byteSwapped : .mismatch
    }
    return FoundImage(
      offset: offset, image: image, size: size, sizeIsMeasured: measure, available: available, crc: crc,
      entries: problem == nil ? entries : nil, problem: problem, enclosingOffset: nil)
  }

  /// One past the last byte `node` occupies: its directory entries, or its pointer table and blocks.
  private static func structureEnd(of node: Node, in image: CramfsImage) throws(CramfsError) -> Int {
    guard node.hasData else { return 0 }
    if node.type == .directory { return node.inode.byteOffset + Int(node.inode.size) }
    var end = node.inode.byteOffset + 4 * node.blockCount(blockSize: image.blockSize)
    for location in try image.blockLocations(of: node) { end = max(end, location.end) }
    return end
  }
}
