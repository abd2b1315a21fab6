#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Which blocks of one stored file should be direct + uncompressed (execute in place).
package struct XIPRequest: Hashable, Sendable {
  /// The file's path in the image (with a leading `/`), for reports.
  public var path: String
  /// For each block: store it direct + uncompressed.
  public var direct: [Bool]
  /// Alignment of each run of direct blocks, in bytes (the block size, or 8).
  public var alignment: Int

  public init(path: String, direct: [Bool], alignment: Int) {
    self.path = path
    self.direct = direct
    self.alignment = alignment
  }
}

/// Where one block of an item with XIP blocks is stored.
///
/// The kernel finds a non-direct block where the previous block ended: right after the pointer table for
/// block 0, at `prev_start + B` after a direct uncompressed block, after the u16 and the stream of a
/// direct compressed block (format doc §6). So a compressed block that follows an XIP block is itself
/// direct (`packedDirect`), and a guard page that follows an XIP page sits right after it in the XIP area.
enum BlockSlot: Hashable, Sendable {
  /// In the packed area right after the previous packed block (or the table); classic end pointer.
  case packed
  /// In the packed area right after the previous packed block, verbatim, classic `UNCOMPRESSED` pointer:
  /// a read-bug guard page with no direct page before it.
  case packedStored
  /// In the packed area at the next 4-byte boundary with a direct pointer: a u16 length and a stream
  /// (verbatim, direct + uncompressed, when the stream does not fit the u16).
  case packedDirect
  /// In the XIP area, `offset` bytes from its start, verbatim. `direct`: a direct + uncompressed pointer;
  /// otherwise a classic `UNCOMPRESSED` pointer right after the previous (direct) page: a guard page.
  case area(offset: Int, direct: Bool)

  var isInArea: Bool {
    if case .area = self { return true }
    return false
  }

  var isDirectInArea: Bool {
    if case .area(_, true) = self { return true }
    return false
  }
}

/// The placement of every block of one item with XIP blocks.
struct XIPItemPlan: Hashable, Sendable {
  var path: String
  var slots: [BlockSlot]
  /// Bytes of its blocks in the XIP area.
  var areaBytes: Int
  /// Its last page is a read-bug guard page.
  var guardsLastPage: Bool
}

/// Consecutive blocks of one item, encoded the same way and written one after the other.
struct BlockRun: Hashable, Sendable {
  var item: Int
  var firstBlock: Int
  /// 0 for an item whose blocks are all in the XIP area: the run only writes its pointer table.
  var count: Int
  var encoding: BlockEncoding
  var inArea: Bool
}

/// The XIP area: every run of XIP blocks, after the packed area. Page-aligned runs come first, then
/// 8-byte aligned ones, so alignment padding is paid once at the area's start, in zeroed page tails
/// (needed anyway for the kernel to map a file's last page), and in at most 7 bytes per 8-aligned run.
struct XIPAreaPlan: Hashable, Sendable {
  /// Alignment of the area's start (the largest of its runs).
  var alignment = 1
  var size = 0
  /// Zero bytes between runs inside the area.
  var gapBytes = 0
  var isEmpty: Bool { size == 0 }
}

extension ImageLayout {
  /// The largest block size whose worst-case deflate stream still fits the u16 length of a direct
  /// compressed block (a 64 KiB block of random data deflates to more than 65535 bytes).
  static let maxDirectCompressedBlockSize = 32768

  /// Splits every item into runs and places the XIP area (pure).
  mutating func planRuns(xipRequests: [Int: XIPRequest], options: BuildOptions) {
    struct AreaRun {
      var item: Int
      var firstBlock: Int
      var count: Int
      var length: Int
      var alignment: Int
      var offset = 0
    }
    var packedRuns: [BlockRun] = []
    var areaRuns: [AreaRun] = []
    var plans: [Int: XIPItemPlan] = [:]
    for itemIndex in dataItems.indices {
      let item = dataItems[itemIndex]
      guard let request = xipRequests[item.entry], request.direct.contains(true) else {
        packedRuns.append(
          BlockRun(
            item: itemIndex, firstBlock: 0, count: item.blockCount, encoding: item.encoding,
            inArea: false))
        continue
      }
      precondition(request.direct.count == item.blockCount, "XIP request for the wrong block count")
      var slots = [BlockSlot](repeating: .packed, count: item.blockCount)
      var guardsLastPage = false
      for block in 0..<item.blockCount {
        let afterDirect = block > 0 && slots[block - 1].isDirectInArea
        let isFullLast = block == item.blockCount - 1 && item.size % blockSize == 0
        if request.direct[block] {
          if isFullLast && options.readBugGuard {
            slots[block] = afterDirect ? .area(offset: 0, direct: false) : .packedStored
            guardsLastPage = true
          } else {
            slots[block] = .area(offset: 0, direct: true)
          }
        } else if afterDirect {
          // A full last block of 64 KiB may not fit a direct compressed block, and a direct
          // uncompressed one would read as zeros: it goes verbatim right after the XIP page.
          slots[block] =
            isFullLast && blockSize > Self.maxDirectCompressedBlockSize
            ? .area(offset: 0, direct: false) : .packedDirect
        }
      }

      // Packed runs: the table, then the packed blocks in order.
      let start = packedRuns.count
      var block = 0
      while block < item.blockCount {
        let slot = slots[block]
        var end = block + 1
        switch slot {
        case .area:
          block = end
          continue
        case .packed:
          while end < item.blockCount && slots[end] == .packed { end += 1 }
        case .packedStored, .packedDirect:
          break
        }
        let encoding: BlockEncoding =
          slot == .packed ? item.encoding : slot == .packedStored ? .stored : .directCompressed
        packedRuns.append(
          BlockRun(
            item: itemIndex, firstBlock: block, count: end - block, encoding: encoding,
            inArea: false))
        block = end
      }
      if packedRuns.count == start {
        packedRuns.append(
          BlockRun(item: itemIndex, firstBlock: 0, count: 0, encoding: .stored, inArea: false))
      }

      // Area runs: maximal sequences of area blocks.
      var areaBytes = 0
      block = 0
      while block < item.blockCount {
        guard slots[block].isInArea else {
          block += 1
          continue
        }
        var end = block
        var length = 0
        while end < item.blockCount && slots[end].isInArea {
          length += min(blockSize, item.size - end * blockSize)
          end += 1
        }
        areaRuns.append(
          AreaRun(
            item: itemIndex, firstBlock: block, count: end - block, length: length,
            alignment: request.alignment))
        areaBytes += length
        block = end
      }
      plans[itemIndex] = XIPItemPlan(
        path: request.path, slots: slots, areaBytes: areaBytes, guardsLastPage: guardsLastPage)
    }

    // The XIP area: the most aligned runs first (stable, so in item order within a group).
    let order = areaRuns.indices.sorted {
      (areaRuns[$0].alignment, $1) > (areaRuns[$1].alignment, $0)
    }
    var area = XIPAreaPlan()
    var position = 0
    for index in order {
      let alignment = areaRuns[index].alignment
      let aligned = (position + alignment - 1) / alignment * alignment
      area.gapBytes += aligned - position
      area.alignment = max(area.alignment, alignment)
      areaRuns[index].offset = aligned
      position = aligned + areaRuns[index].length
      let run = areaRuns[index]
      for block in run.firstBlock..<(run.firstBlock + run.count) {
        let offset = run.offset + (block - run.firstBlock) * blockSize
        let direct = plans[run.item]?.slots[block].isDirectInArea ?? false
        plans[run.item]?.slots[block] = .area(offset: offset, direct: direct)
      }
    }
    area.size = position
    for (itemIndex, plan) in plans { dataItems[itemIndex].xip = plan }
    runs =
      packedRuns
      + order.map {
        BlockRun(
          item: areaRuns[$0].item, firstBlock: areaRuns[$0].firstBlock, count: areaRuns[$0].count,
          encoding: .stored, inArea: true)
      }
    xipArea = area
  }
}

/// Decides which files get XIP blocks: `--xip` patterns on image paths (whole files) and `-X` on ELF
/// program headers (read-only `PT_LOAD` segments).
package enum XIPSelector {
  /// The XIP requests for `tree`, keyed by the entry that owns the data (duplicates resolved).
  ///
  /// - Throws: `CramfsError/Code/io` when a file cannot be read to look for an ELF header.
  public static func select(tree: SourceTree, duplicateOf: [Int?], options: BuildOptions)
    throws(CramfsError) -> [Int: XIPRequest]
  {
    guard !options.xipPatterns.isEmpty || options.xipELF != nil else { return [:] }
    let blockSize = options.blockSize
    let paths = imagePaths(tree)
    var whole = Set<Int>()
    if !options.xipPatterns.isEmpty {
      for (index, entry) in tree.entries.enumerated()
      where entry.type == .regular && entry.dataSize > 0
        && matches(paths[index], options.xipPatterns)
      {
        whole.insert(duplicateOf[index] ?? index)
      }
    }
    var requests: [Int: XIPRequest] = [:]
    for (index, entry) in tree.entries.enumerated()
    where entry.type == .regular && entry.dataSize > 0 && duplicateOf[index] == nil {
      let path = String(decoding: paths[index], as: UTF8.self)
      let blocks = (entry.dataSize + blockSize - 1) / blockSize
      if whole.contains(index) {
        requests[index] = XIPRequest(
          path: path, direct: [Bool](repeating: true, count: blocks), alignment: blockSize)
      } else if let alignment = options.xipELF {
        let segments = try readOnlySegments(of: entry, blockSize: blockSize)
        guard !segments.isEmpty else { continue }
        var direct = [Bool](repeating: false, count: blocks)
        for range in segments { for block in range { direct[block] = true } }
        requests[index] = XIPRequest(
          path: path, direct: direct, alignment: alignment.bytes(blockSize: blockSize))
      }
    }
    return requests
  }

  /// A warning for each XIP pattern that matches no regular file with data: such a pattern silently
  /// changes nothing, most often because it lacks the leading `/` of image paths.
  public static func unmatchedPatterns(tree: SourceTree, options: BuildOptions) -> [BuildWarning] {
    guard !options.xipPatterns.isEmpty else { return [] }
    let paths = imagePaths(tree)
    var unmatched = options.xipPatterns
    for (index, entry) in tree.entries.enumerated() where entry.type == .regular && entry.dataSize > 0 {
      unmatched.removeAll { matches(paths[index], [$0]) }
      if unmatched.isEmpty { break }
    }
    return unmatched.map { pattern in
      let hint = pattern.hasPrefix("/") || pattern.hasPrefix("*") ? "" : " (image paths begin with '/': '/\(pattern)'?)"
      return BuildWarning(kind: .xipPatternUnmatched, path: pattern, message: "XIP pattern matches no regular file\(hint)")
    }
  }

  /// A warning when ELF XIP (``BuildOptions/xipELF``) chose no file: no ELF file outside the `--xip` matches
  /// has a read-only `PT_LOAD` segment, so `-X` silently changes nothing.
  static func unmatchedELF(tree: SourceTree, requests: [Int: XIPRequest], options: BuildOptions) -> [BuildWarning] {
    guard let alignment = options.xipELF else { return [] }
    let paths = imagePaths(tree)
    // A request for a file no pattern matches came from the ELF selection.
    if requests.keys.contains(where: { !matches(paths[$0], options.xipPatterns) }) { return [] }
    let option = alignment == .page ? "-X -X" : "-X"
    return [
      BuildWarning(
        kind: .xipELFUnmatched, path: option,
        message: "no ELF file has a read-only PT_LOAD segment: nothing is stored XIP by it")
    ]
  }

  /// `fnmatch(3)` without flags: `*` and `?` match `/` too, so `*.so*` finds libraries at any depth.
  static func matches(_ path: [UInt8], _ patterns: [String]) -> Bool {
    withCString(path) { cPath in patterns.contains { fnmatch($0, cPath, 0) == 0 } }
  }

  /// Each entry's path in the image, with a leading `/` (the root is `/`).
  static func imagePaths(_ tree: SourceTree) -> [[UInt8]] {
    var paths = [[UInt8]](repeating: [], count: tree.entries.count)
    paths[0] = [UInt8(ascii: "/")]
    for (index, entry) in tree.entries.enumerated() where entry.type == .directory {
      let prefix = index == 0 ? [] : paths[index]
      for child in entry.children {
        paths[child] = prefix + [UInt8(ascii: "/")] + tree.entries[child].name
      }
    }
    return paths
  }

  /// The block ranges of `entry` that read-only `PT_LOAD` segments cover; empty for other files.
  static func readOnlySegments(of entry: SourceEntry, blockSize: Int) throws(CramfsError)
    -> [Range<Int>]
  {
    let size = entry.dataSize
    guard size >= 52, entry.type == .regular else { return [] }
    let file = try DataSource(entry: entry)
    let head = try read(file, at: 0, count: min(size, ELFHeader.maxHeaderSize))
    guard let header = ELFHeader(parsing: head) else { return [] }
    let tableSize = header.programHeaderTableSize
    guard tableSize > 0, header.programHeaderOffset <= size - tableSize, tableSize <= 1 << 20
    else { return [] }
    let table = try read(file, at: header.programHeaderOffset, count: tableSize)
    return header.programHeaders(in: table).filter(\.isReadOnlyLoad).map {
      $0.blocks(blockSize: blockSize, fileLength: size)
    }
  }

  private static func read(_ file: DataSource, at offset: Int, count: Int) throws(CramfsError)
    -> [UInt8]
  {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 16)
    defer { buffer.deallocate() }
    try file.read(at: offset, into: buffer)
    return Array(buffer)
  }
}
