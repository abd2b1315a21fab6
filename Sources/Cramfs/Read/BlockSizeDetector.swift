/// Finds an image's block size from its data, since the format does not record it.
///
/// Deciding from one block is not enough: block 0 of an XIP file is a direct uncompressed page that fits
/// every candidate. So each candidate is tested against the whole layout, as the checker would: every
/// file's pointer table is as long as the candidate makes it, every block is located by the kernel's
/// rules and must be plausible (stored lengths, zlib headers, bounds), and then the tables and blocks of
/// all files together must not overlap, and only zeros may follow a table up to the next structure.
/// A wrong size makes tables too long (they run into the next structure) or too short (the rest of the
/// table is left behind as a non-zero gap, or read as a block), so only the true size fits a real image.
/// (Slack after a block is not held against a size: some tools leave stale bytes there.) When the
/// layout leaves several candidates, blocks are inflated to compare decompressed lengths.
///
/// The work is one pass over the pointer tables per candidate, bounded by a budget of pointers for
/// hostile images (see ``BlockSizeDetection/sampled``).
enum BlockSizeDetector {
  /// Counting stops here: a candidate this wrong is out of the running anyway.
  static let problemCap = 1000
  /// Blocks inflated at most when the layout does not decide.
  static let inflationBudget = 64

  static func detect(view: ByteView, superblock: Superblock) -> BlockSizeDetection {
    let inventory = DataInventory(view: view, superblock: superblock)
    // A legal image has at most one pointer per 4 bytes of image for the smallest candidate; a hostile
    // one can claim far more through overlapping tables, so the pass stops at a generous multiple.
    let pointerBudget = max(1 << 20, 4 * (view.count / 4096))
    var candidates: [BlockSizeDetection.Candidate] = []
    var sampled = false
    for blockSize in BlockSizes.candidates {
      var check = LayoutCheck(view: view, inventory: inventory, blockSize: blockSize, pointerBudget: pointerBudget)
      check.run()
      sampled = sampled || check.budgetExhausted
      candidates.append(.init(blockSize: blockSize, problems: check.problems, firstProblem: check.firstProblem))
    }
    var contenders = candidates.filter { $0.problems == 0 }.map(\.blockSize)
    var inflated = 0
    if contenders.count > 1 {
      (contenders, inflated) = separateByInflating(contenders, view: view, inventory: inventory)
    }
    let method: BlockSizeDetection.Method
    if contenders.count == 1 {
      method = .detected
    } else if contenders.isEmpty {
      let fewest = candidates.map(\.problems).min() ?? 0
      contenders = candidates.filter { $0.problems == fewest }.map(\.blockSize)
      method = contenders.count == 1 ? .damaged : .undecided
    } else {
      // Every file no larger than the smallest contender is one block, stored alike under each.
      let smallest = contenders.min() ?? 4096
      method = inventory.largestFile <= smallest ? .irrelevant : .undecided
    }
    return BlockSizeDetection(
      method: method, blockSize: contenders.first ?? 4096, candidates: candidates, contenders: contenders,
      filesExamined: inventory.files.count, blocksInflated: inflated, sampled: sampled)
  }

  /// Drops contenders under which a compressed block inflates to a length other than the one the
  /// contender expects; returns the survivors and the number of blocks inflated.
  private static func separateByInflating(_ contenders: [Int], view: ByteView, inventory: DataInventory) -> ([Int], Int) {
    let decompressor = BlockDecompressor()
    let largest = contenders.max() ?? 4096
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: largest, alignment: 16)
    defer { scratch.deallocate() }
    var survivors = Set(contenders)
    var inflated = 0
    let smallest = contenders.min() ?? 4096
    for file in inventory.files where file.size > smallest {
      guard survivors.count > 1, inflated < inflationBudget else { break }
      for blockSize in survivors.sorted() {
        guard let location = try? BlockLocation.find(block: 0, tableOffset: file.tableOffset, fileSize: file.size, blockSize: blockSize, in: view),
          location.kind == .compressed || location.kind == .directCompressed
        else { continue }
        inflated += 1
        let produced = (try? view.slice(location.start, location.length)).flatMap {
          try? decompressor.decompress($0, into: UnsafeMutableRawBufferPointer(rebasing: scratch[0..<blockSize]))
        }
        if produced != min(blockSize, file.size) { survivors.remove(blockSize) }
      }
    }
    return (contenders.filter { survivors.contains($0) }, inflated)
  }
}

/// Every directory's entry area and every distinct file data area of an image, found by walking the
/// directories once (``DirectoryWalker``, so loops end). Damage is passed over: what can be read is
/// inventoried, and the layout check judges it.
struct DataInventory {
  struct DataFile {
    var path: String
    var tableOffset: Int
    var size: Int
  }

  /// Regular files and symlinks with data, one per distinct (table, size): deduplicated files share one.
  private(set) var files: [DataFile] = []
  /// `[start, end)` of each directory's entries.
  private(set) var directories: [Range<Int>] = []
  private(set) var largestFile = 0

  /// Entries read at most; far more than any real image holds.
  static let entryLimit = 1 << 21

  /// Thrown by the visitor to end the walk at ``entryLimit``.
  private struct EntryLimitReached: Error {}

  /// - Parameter superblockOffset: where the superblock is (only the root's entry offset depends on it,
  ///   which the inventory does not use).
  init(view: ByteView, superblock: Superblock, superblockOffset: Int = 0) {
    var seenData: Set<Int> = []
    var entries = 0
    // Each directory's context is its path (`/a/b`; empty for the root).
    var walker = DirectoryWalker<String>(view: view, order: .imageOrder)
    let root = DirectoryWalker<String>.Directory.root(superblock, superblockOffset: superblockOffset, context: "")
    try? walker.walk(from: root) { directory, _ throws(EntryLimitReached) in
      let start = directory.inode.byteOffset
      directories.append(start..<(start + Int(directory.inode.size)))
    } visit: { entry, parent, _ throws(EntryLimitReached) -> String? in
      entries += 1
      guard entries <= Self.entryLimit else { throw EntryLimitReached() }
      let path = parent.context + "/" + String(decoding: entry.name, as: UTF8.self)
      let inode = entry.inode
      switch inode.fileType {
      case .directory:
        return path
      case .regular, .symlink:
        guard inode.size != 0, inode.offsetWords != 0, seenData.insert(inode.byteOffset << 24 | Int(inode.size)).inserted else { return nil }
        files.append(DataFile(path: path, tableOffset: inode.byteOffset, size: Int(inode.size)))
        largestFile = max(largestFile, Int(inode.size))
      default:
        break
      }
      return nil
    } problem: { problem, directory throws(EntryLimitReached) in
      // Entries partly outside the image, or overlapping others, still occupy their range.
      switch problem {
      case .outOfRange, .overlap:
        let start = directory.inode.byteOffset
        directories.append(start..<(start + Int(directory.inode.size)))
      default:
        break
      }
    }
  }
}

/// The layout of every file under one candidate block size: what does not fit is a problem.
struct LayoutCheck {
  let view: ByteView
  let inventory: DataInventory
  let blockSize: Int
  let pointerBudget: Int
  private(set) var problems = 0
  private(set) var firstProblem: String?
  private(set) var budgetExhausted = false
  /// Stored ranges: pointer tables and blocks (owner = file index) and directories (owner = -1).
  private var extents: [(start: Int, end: Int, owner: Int, isTable: Bool)] = []
  private var pointersRead = 0

  init(view: ByteView, inventory: DataInventory, blockSize: Int, pointerBudget: Int) {
    self.view = view
    self.inventory = inventory
    self.blockSize = blockSize
    self.pointerBudget = pointerBudget
  }

  mutating func run() {
    extents = inventory.directories.map { ($0.lowerBound, $0.upperBound, -1, false) }
    for index in inventory.files.indices {
      guard problems < BlockSizeDetector.problemCap else { return }
      guard pointersRead < pointerBudget else {
        budgetExhausted = true
        break
      }
      if let problem = layOut(file: index), countProblem() { firstProblem = "\(inventory.files[index].path): \(problem)" }
    }
    checkTiling()
  }

  /// Counts a problem; true for the first, the only one described (a wrong candidate can have thousands).
  private mutating func countProblem() -> Bool {
    problems += 1
    return firstProblem == nil
  }

  /// What of a file does not fit the candidate block size.
  private enum LayoutProblem: CustomStringConvertible {
    case tableRunsPastEnd(pointers: Int)
    case unlocatable(BlockLocation.Failure)
    case uncompressedLength(block: Int, length: Int, blockSize: Int, expected: Int)
    case noZlibHeader(block: Int, at: Int)
    case blockRunsPastEnd(block: Int)

    var description: String {
      switch self {
      case .tableRunsPastEnd(let count): "its table of \(count) pointers runs past the end of the image"
      case .unlocatable(let failure): failure.error.message
      case .uncompressedLength(let block, let length, let blockSize, let expected):
        "block \(block) is stored uncompressed in \(length) bytes where a \(blockSize)-byte block holds \(expected)"
      case .noZlibHeader(let block, let start): "block \(block) at 0x\(String(start, radix: 16)) does not start with a zlib header"
      case .blockRunsPastEnd(let block): "block \(block) runs past the end of the image"
      }
    }
  }

  /// Records the file's table and blocks; returns what does not fit, if anything.
  private mutating func layOut(file index: Int) -> LayoutProblem? {
    let file = inventory.files[index]
    let count = (file.size + blockSize - 1) / blockSize
    guard view.contains(offset: file.tableOffset, length: 4 * count) else {
      return .tableRunsPastEnd(pointers: count)
    }
    extents.append((file.tableOffset, file.tableOffset + 4 * count, index, true))
    for block in 0..<count {
      pointersRead += 1
      let location: BlockLocation
      do {
        location = try BlockLocation.find(block: block, tableOffset: file.tableOffset, fileSize: file.size, blockSize: blockSize, in: view)
      } catch {
        return .unlocatable(error)
      }
      let expected = min(blockSize, file.size - block * blockSize)
      var stored = location.start..<location.end
      switch location.kind {
      case .hole:
        guard location.pointer.isDirect else { continue }
        // A direct compressed hole still has its length prefix.
        stored = (location.start - 2)..<location.start
      case .uncompressed:
        guard location.length == expected else {
          return .uncompressedLength(block: block, length: location.length, blockSize: blockSize, expected: expected)
        }
      case .directUncompressed, .directUncompressedFullLastPage:
        break
      case .compressed, .directCompressed:
        guard Self.startsWithZlibHeader(view, at: location.start, length: location.length) else {
          return .noZlibHeader(block: block, at: location.start)
        }
        if location.kind == .directCompressed { stored = (location.start - 2)..<location.end }
      }
      guard view.contains(offset: stored.lowerBound, length: stored.count) else {
        return .blockRunsPastEnd(block: block)
      }
      extents.append((stored.lowerBound, stored.upperBound, index, false))
    }
    return nil
  }

  /// Tables and blocks must not overlap one another, and only zeros may follow a table up to the next
  /// structure (or the end): a table too long runs into its neighbour, one too short leaves pointers behind.
  private mutating func checkTiling() {
    extents.sort { ($0.start, $0.end) < ($1.start, $1.end) }
    guard var reach = extents.first else { return }
    for extent in extents.dropFirst() {
      guard problems < BlockSizeDetector.problemCap else { return }
      if extent.start < reach.end {
        if countProblem() {
          firstProblem = "\(describe(extent.owner)) at 0x\(String(extent.start, radix: 16)) overlaps \(describe(reach.owner))"
        }
      } else if reach.isTable, !isZero(reach.end..<extent.start) {
        if countProblem() {
          firstProblem =
            "\(describe(reach.owner)): non-zero bytes follow its pointer table (0x\(String(reach.end, radix: 16))-0x\(String(extent.start, radix: 16)))"
        }
      }
      if extent.end > reach.end { reach = extent }
    }
    if reach.isTable, !budgetExhausted, !isZero(reach.end..<view.count) {
      if countProblem() {
        firstProblem = "\(describe(reach.owner)): non-zero bytes follow its pointer table at 0x\(String(reach.end, radix: 16))"
      }
    }
  }

  private func describe(_ owner: Int) -> String {
    owner < 0 ? "a directory" : "the data of \(inventory.files[owner].path)"
  }

  private func isZero(_ range: Range<Int>) -> Bool {
    view.isZero(range.lowerBound, range.count)
  }

  /// RFC 1950: deflate (method 8) with a window of at most 32 KiB, no preset dictionary, and a header
  /// that is a multiple of 31.
  static func startsWithZlibHeader(_ view: ByteView, at start: Int, length: Int) -> Bool {
    guard length >= 2, let header = try? view.slice(start, 2) else { return false }
    let method = header[0], flags = header[1]
    return method & 0x0F == 8 && method >> 4 <= 7 && flags & 0x20 == 0 && (UInt16(method) << 8 | UInt16(flags)) % 31 == 0
  }
}
