/// Where an image's bytes go: every byte from offset 0 to the image's end classified (superblock, directory
/// entries, pointer tables, compressed blocks, XIP pages, padding...), read from the image's own tables, and
/// the extents of each regular file with the kernel's direct-mapping verdict (``MappingClass``).
///
///     let map = try ImageSpaceMap(image: try CramfsImage(path: "rootfs.cramfs"))
///     for kind in ImageSpaceMap.Kind.allCases { print(kind, map.bytes(of: kind)) }
///
/// The regions are sorted, never overlap and cover `0..<size` exactly, so their bytes add up to ``size``;
/// bytes no structure claims (alignment, the tail rounded up to the block size) are ``Kind/padding``. In a
/// damaged image where structures overlap, the earlier-starting one keeps the shared bytes.
public struct ImageSpaceMap: Sendable {
  /// What a range of bytes holds.
  public enum Kind: String, Sendable, CaseIterable, Hashable {
    /// The 512 zero bytes before a padded image's superblock (room for boot code).
    case bootPad = "boot pad"
    case superblock
    /// A file copied after the superblock (`mkcramfs -i`, `SHIFTED_ROOT_OFFSET`).
    case insertedFile = "inserted file"
    /// Directory entries (inodes and names).
    case directories
    /// The block pointer tables of files and symlinks.
    case pointerTables = "pointer tables"
    /// Compressed blocks (direct compressed blocks with their 2-byte length).
    case compressed
    /// Blocks stored uncompressed but not mapped in place (`-x`, read-bug guard pages).
    case uncompressed
    /// Direct uncompressed pages: the kernel maps them in place (XIP).
    case xipPages = "XIP pages"
    /// Bytes no structure uses: alignment, zeroed page tails, the end rounded up to the block size.
    case padding
  }

  /// One range of bytes of one kind.
  public struct Region: Sendable, Hashable {
    public var kind: Kind
    public var start: Int
    public var end: Int
    public var length: Int { end - start }
  }

  /// A regular file's bytes in the image (pointer table and blocks) and how the kernel maps it.
  public struct FileExtent: Sendable, Hashable {
    public var path: String
    public var mappingClass: MappingClass
    /// Sorted, merged ranges of image offsets.
    public var ranges: [Range<Int>]
  }

  /// Bytes mapped: the superblock's size (with `FSID_VERSION_2`), else the file's length.
  public let size: Int
  public let blockSize: Int
  public let regions: [Region]
  /// Blocks stored as zero-length holes (they take no bytes).
  public let holeBlocks: Int
  /// From the first to the end of the last XIP page (page tails and padding between them included); nil
  /// when nothing is mapped in place.
  public let xipArea: Range<Int>?
  /// Every regular file with data, in image order (a deduplicated file's data is listed once).
  public let files: [FileExtent]

  /// Bytes of `kind` in the image.
  public func bytes(of kind: Kind) -> Int {
    regions.reduce(0) { $0 + ($1.kind == kind ? $1.length : 0) }
  }

  /// Maps `image`.
  ///
  /// - Throws: `CramfsError` when a directory or pointer table cannot be read (a damaged image).
  public init(image: CramfsImage) throws(CramfsError) {
    let geometry = image.geometry
    let superblock = image.superblock
    let size = superblock.flags.contains(.fsidVersion2) ? min(Int(superblock.size), image.view.count) : image.view.count
    let blockSize = image.blockSize
    var pieces: [Region] = []
    var holes = 0
    var files: [FileExtent] = []
    func add(_ kind: Kind, _ start: Int, _ end: Int) {
      let (start, end) = (max(0, start), min(size, end))
      if end > start { pieces.append(Region(kind: kind, start: start, end: end)) }
    }
    let superblockStart = geometry.superblockOffset
    add(.bootPad, 0, superblockStart)
    add(.superblock, superblockStart, superblockStart + Superblock.encodedSize)
    var firstDirectory = Int.max
    var seenTables: Set<Int> = []
    var tableBytes = 0
    let root = image.root
    if root.hasData { add(.directories, root.inode.byteOffset, root.inode.byteOffset + Int(root.inode.size)) }
    if root.hasData { firstDirectory = root.inode.byteOffset }
    try image.walkInImageOrder { (path, node) throws(CramfsError) in
      guard !node.isRoot, node.hasData else { return }
      let offset = node.inode.byteOffset
      if node.type == .directory {
        add(.directories, offset, offset + Int(node.inode.size))
        firstDirectory = min(firstDirectory, offset)
        return
      }
      // Deduplicated entries share one table: its bytes are counted once.
      guard seenTables.insert(offset).inserted else { return }
      var extent: [Range<Int>] = []
      func claim(_ kind: Kind, _ start: Int, _ end: Int) {
        add(kind, start, end)
        if end > start { extent.append(start..<end) }
      }
      let count = node.blockCount(blockSize: blockSize)
      // Distinct tables cannot hold more bytes than the image: this bounds the work on a hostile image.
      tableBytes += 4 * count
      guard tableBytes <= image.view.count else {
        throw CramfsError(
          .corrupted, "pointer tables add up to more bytes than the image holds", offset: node.entryOffset,
          path: "/" + String(decoding: path, as: UTF8.self))
      }
      claim(.pointerTables, offset, offset + 4 * count)
      for index in 0..<count {
        let location = try image.location(of: node, block: index)
        let pointer = location.pointer
        switch location.kind {
        case .compressed: claim(.compressed, location.start, location.end)
        case .directCompressed: claim(.compressed, location.start - 2, location.end)
        case .uncompressed: claim(.uncompressed, location.start, location.end)
        case .directUncompressed, .directUncompressedFullLastPage: claim(.xipPages, location.start, location.end)
        case .hole:
          if pointer.isDirect {
            claim(.compressed, location.start - 2, location.start)
          } else {
            holes += 1
          }
        }
      }
      guard node.type == .regular else { return }
      let verdict = try? XIPAnalysis.analyze(node, path: "/" + String(decoding: path, as: UTF8.self), in: image)
      files.append(
        FileExtent(
          path: "/" + String(decoding: path, as: UTF8.self), mappingClass: verdict?.mappingClass ?? .none,
          ranges: Self.merged(extent)))
    }
    // An inserted file fills the gap between the superblock and the directories.
    if superblock.flags.contains(.shiftedRootOffset), firstDirectory != Int.max {
      add(.insertedFile, superblockStart + Superblock.encodedSize, firstDirectory)
    }
    let regions = Self.tile(pieces, size: size)
    let xip = regions.filter { $0.kind == .xipPages }
    if let first = xip.first, let last = xip.last {
      xipArea = first.start..<min(size, (last.end + blockSize - 1) / blockSize * blockSize)
    } else {
      xipArea = nil
    }
    self.size = size
    self.blockSize = blockSize
    self.regions = regions
    holeBlocks = holes
    self.files = files
  }

  /// Sorts `pieces`, cuts overlaps (the earlier start keeps the bytes), fills gaps with padding and merges
  /// neighbours of one kind: the result covers `0..<size` exactly.
  static func tile(_ pieces: [Region], size: Int) -> [Region] {
    var result: [Region] = []
    func append(_ kind: Kind, _ start: Int, _ end: Int) {
      guard end > start else { return }
      if let last = result.last, last.kind == kind, last.end == start {
        result[result.count - 1].end = end
      } else {
        result.append(Region(kind: kind, start: start, end: end))
      }
    }
    var position = 0
    for piece in pieces.sorted(by: { ($0.start, $0.end) < ($1.start, $1.end) }) {
      append(.padding, position, piece.start)
      append(piece.kind, max(position, piece.start), piece.end)
      position = max(position, piece.end)
    }
    append(.padding, position, size)
    return result
  }

  private static func merged(_ ranges: [Range<Int>]) -> [Range<Int>] {
    var result: [Range<Int>] = []
    for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
      if let last = result.last, range.lowerBound <= last.upperBound {
        result[result.count - 1] = last.lowerBound..<max(last.upperBound, range.upperBound)
      } else {
        result.append(range)
      }
    }
    return result
  }
}
