/// How the kernel maps a whole regular file (`mmap` of all its pages, read-only) from an image in
/// addressable memory, as `/proc/PID/smaps` shows it.
public enum MappingClass: String, Sendable, Codable, CaseIterable {
  /// Every page mapped straight from the image (`remap_pfn_range`: VmFlags `pf`).
  case whole
  /// A prefix mapped straight from the image, the rest through the page cache (VmFlags `mm`).
  case partial
  /// Nothing mapped directly.
  case none

  /// The `/proc/PID/smaps` VmFlags token that marks this class, if any.
  public var vmFlag: String? {
    switch self {
    case .whole: "pf"
    case .partial: "mm"
    case .none: nil
    }
  }
}

/// Why some or all pages of a file are not mapped directly.
public enum XIPReason: String, Sendable, Codable, CaseIterable {
  /// The superblock lacks `EXT_BLOCK_POINTERS` (0x800): the kernel never maps directly.
  case flagMissing = "flag 0x800 missing"
  /// An empty file has no pages.
  case empty = "empty file"
  /// The first page not mapped is compressed.
  case compressed = "compressed"
  /// The first page not mapped is uncompressed but not at a direct position.
  case notDirect = "not direct"
  /// The first page not mapped does not follow the previous one in the image.
  case notContiguous = "not contiguous"
  /// The first direct page is not page aligned in physical memory.
  case notPageAligned = "not page aligned"
  /// The bytes after the end of the file in its last page are not all zero.
  case lastPageShared = "last page shared"
  /// The next page would lie past the end of the image (a truncated or lying image): the kernel would map
  /// whatever memory follows the flash, so it is not counted as mappable.
  case pastEndOfImage = "past end of image"
  /// The last page is stored non-direct on purpose, to dodge the kernel's `read()` defect with full-size
  /// direct uncompressed last blocks.
  case readBugGuard = "read-bug guard"
}

/// The kernel's direct-mapping verdict for one regular file.
public struct XIPFileReport: Sendable, Codable, Hashable {
  public var path: String
  public var size: Int
  /// Pages in a mapping of the whole file.
  public var pages: Int
  /// Pages the kernel maps straight from the image.
  public var directPages: Int
  public var mappingClass: MappingClass
  /// Why not every page is direct; nil when all are.
  public var reason: XIPReason?
  /// Image offset of the first directly mapped page.
  public var directOffset: Int?
}

/// The verdict for every regular file of an image, with totals.
public struct XIPReport: Sendable, Codable {
  public var pageSize: Int
  public var physicalBase: UInt64
  public var files: [XIPFileReport]

  public var totalPages: Int { files.reduce(0) { $0 + $1.pages } }
  public var directPages: Int { files.reduce(0) { $0 + $1.directPages } }
  /// RAM a target does not spend on page cache for these files when they are mapped whole.
  public var bytesSaved: Int { directPages * pageSize }
}

/// Predicts which pages the kernel maps directly (format doc §7; `cramfs_physmem_mmap`,
/// `cramfs_get_block_range`, `cramfs_last_page_is_shared` in fs/cramfs/inode.c).
public enum XIPAnalysis {
  /// Analyses every regular file of `image` for a whole-file, read-only mapping.
  ///
  /// - Parameters:
  ///   - image: the image.
  ///   - physicalBase: the physical address the image starts at (the MTD window); the kernel
  ///     requires the first direct page's physical address to be page aligned.
  /// - Throws: `CramfsError` for a corrupt image, and as ``analyze(_:path:in:physicalBase:)`` does.
  public static func analyze(_ image: CramfsImage, physicalBase: UInt64 = 0) throws(CramfsError) -> XIPReport {
    var files: [XIPFileReport] = []
    try image.walk { (path, node) throws(CramfsError) in
      guard node.type == .regular else { return }
      files.append(try analyze(node, path: path, in: image, physicalBase: physicalBase))
    }
    return XIPReport(pageSize: image.blockSize, physicalBase: physicalBase, files: files)
  }

  /// The verdict for one regular file.
  ///
  /// - Throws: `CramfsError/Code/ambiguousBlockSize` when the image's data fits several page sizes
  ///   (``BlockSizeDetection/alternatives``) and the verdict differs between them.
  public static func analyze(_ node: Node, path: String, in image: CramfsImage, physicalBase: UInt64 = 0) throws(CramfsError) -> XIPFileReport {
    let verdict = try predict(node, path: path, in: image, physicalBase: physicalBase)
    for alternative in image.blockSizeDetection.alternatives {
      let other = try predict(node, path: path, in: image.withBlockSize(alternative), physicalBase: physicalBase)
      guard other.directPages == verdict.directPages, other.mappingClass == verdict.mappingClass else {
        throw CramfsError(
          .ambiguousBlockSize,
          "the image does not record its page size, its data fits \(image.blockSize) and \(alternative) equally, and the kernel would map "
            + "\(verdict.directPages) or \(other.directPages) pages of this file directly",
          offset: node.entryOffset, path: path)
      }
    }
    return verdict
  }

  private static func predict(_ node: Node, path: String, in image: CramfsImage, physicalBase: UInt64) throws(CramfsError) -> XIPFileReport {
    let pageSize = image.blockSize
    let size = Int(node.inode.size)
    let maxPages = (size + pageSize - 1) / pageSize
    var report = XIPFileReport(path: path, size: size, pages: maxPages, directPages: 0, mappingClass: .none, reason: nil, directOffset: nil)
    guard image.superblock.flags.contains(.extendedBlockPointers) else {
      report.reason = .flagMissing
      return report
    }
    guard maxPages > 0 else {
      report.reason = .empty
      return report
    }
    let table = node.inode.byteOffset
    func pointer(_ index: Int) throws(CramfsError) -> BlockPointer {
      BlockPointer(rawValue: try image.view.uint32(at: table + 4 * index))
    }
    func blockedBy(_ index: Int) throws(CramfsError) -> XIPReason {
      let blocking = try pointer(index)
      if !blocking.isUncompressed { return .compressed }
      if !blocking.isDirect {
        let isLast = index == maxPages - 1
        return isLast && size % pageSize == 0 ? .readBugGuard : .notDirect
      }
      return .notContiguous
    }

    // cramfs_get_block_range: pointers equal to (first + i pages) | DIRECT | UNCOMPRESSED. Unlike the kernel,
    // a page must also lie inside the image: nothing past its end is trusted to be there.
    let first = try pointer(0)
    let firstWords = first.value
    let offset = Int(firstWords) << 2
    var direct = 0
    var pastEnd = false
    while direct < maxPages {
      let expected = (firstWords &+ UInt32(direct * (pageSize >> 2))) | BlockPointer.directFlag | BlockPointer.uncompressedFlag
      guard try pointer(direct).rawValue == expected else { break }
      guard image.view.contains(offset: offset + direct * pageSize, length: pageSize) else {
        pastEnd = true
        break
      }
      direct += 1
    }
    guard direct > 0, firstWords != 0 else {
      report.reason = pastEnd ? .pastEndOfImage : try blockedBy(0)
      return report
    }
    guard (physicalBase &+ UInt64(offset)) % UInt64(pageSize) == 0 else {
      report.reason = .notPageAligned
      return report
    }
    var reason: XIPReason? = pastEnd ? .pastEndOfImage : direct < maxPages ? try blockedBy(direct) : nil
    // cramfs_last_page_is_shared: the tail of a partial last page must be zeros.
    let partial = size % pageSize
    if direct == maxPages, partial != 0 {
      let lastStart = offset + (maxPages - 1) * pageSize
      let tailIsZero = (try? image.view.slice(lastStart + partial, pageSize - partial))?.allSatisfy { $0 == 0 } ?? false
      if !tailIsZero {
        direct -= 1
        reason = .lastPageShared
      }
    }
    report.directPages = direct
    report.reason = reason
    report.directOffset = direct > 0 ? offset : nil
    report.mappingClass = direct == 0 ? .none : (direct == maxPages ? .whole : .partial)
    return report
  }
}
