#if canImport(Glibc)
  import Glibc
#endif

/// A range of the image that one structure owns; no two may overlap.
struct Region {
  enum Kind { case superblock, directory, data }
  var start: Int
  var end: Int
  var kind: Kind
  var path: String

  var what: String {
    switch kind {
    case .superblock: "the superblock"
    case .directory: "the directory entries of \(path)"
    case .data: "the data of \(path)"
    }
  }
}

/// Checks regular files and symlinks: pointer tables, every block's location, length and content,
/// sharing (deduplicated data), and finally that no two structures overlap.
struct DataChecker {
  let context: CheckContext
  var verifyBlocks: Bool
  var regions: [Region] = []
  /// Start of the first pointer table (the data area).
  private(set) var dataStart: Int?
  /// Blocks of the distinct files and symlinks (what `fsid.blocks` counts).
  private(set) var blockCount = 0
  /// Files already checked, by the offset of their pointer table.
  private var owners: [Int: (inode: Inode, path: String)] = [:]
  private var tableBytes = 0
  private var inflatedInput = 0
  private let inflateBudget: Int
  private let decompressor = BlockDecompressor()
  /// Compressed blocks of regular files, inflated in parallel by `finish`.
  private var pending: [InflateJob] = []

  /// Advanced by the compressed bytes inflated.
  private let progress: ProgressCounter?

  init(context: CheckContext, verifyBlocks: Bool, progress: ProgressCounter? = nil) {
    self.context = context
    self.verifyBlocks = verifyBlocks
    self.progress = progress
    inflateBudget = 8 * context.view.count + (1 << 20)
  }

  private var blockSize: Int { context.blockSize }
  private var flags: SuperblockFlags { context.superblock.flags }

  mutating func checkFile(inode: Inode, entryOffset: Int, path: String, sink: inout DiagnosticSink, report: inout CheckReport) {
    let size = Int(inode.size)
    let offset = inode.byteOffset
    let isSymlink = inode.fileType == .symlink
    if isSymlink {
      if offset == 0 { sink.error(.zeroOffset, "symbolic link has zero offset", offset: entryOffset, path: path) }
      if size == 0 { sink.error(.emptySymlink, "symbolic link has zero size", offset: entryOffset, path: path) }
      let limit = Inode.maxSymlinkTargetLength(pageSize: blockSize)
      if size > limit {
        sink.error(
          .symlinkTooLong, "symlink target is \(size) bytes: the kernel cuts targets to one page minus its NUL (\(limit))",
          offset: entryOffset, path: path)
      }
    } else {
      if offset == 0 && size != 0 {
        sink.error(.zeroOffset, "file has zero offset and non-zero size \(size)", offset: entryOffset, path: path)
      }
      if size == 0 && offset != 0 {
        sink.error(.zeroSizeWithOffset, "file has zero size and non-zero offset \(hex(offset))", offset: entryOffset, path: path)
      }
    }
    guard size != 0, offset != 0 else { return }
    if let owner = owners[offset] {
      checkShared(inode, path: path, entryOffset: entryOffset, with: owner, sink: &sink)
      return
    }
    owners[offset] = (inode, path)
    let count = (size + blockSize - 1) / blockSize
    blockCount += count
    guard context.view.contains(offset: offset, length: 4 * count) else {
      sink.error(
        .pointerTableOutOfRange,
        "block pointer table \(hex(offset))-\(hex(offset + 4 * count)) runs past the end of the image (\(hex(context.view.count)))",
        offset: entryOffset, path: path)
      return
    }
    tableBytes += 4 * count
    guard tableBytes <= context.view.count else {
      sink.error(
        .dataOverlap, "pointer tables add up to more bytes than the image holds: file data overlaps", offset: offset, path: path)
      return
    }
    dataStart = min(dataStart ?? offset, offset)
    regions.append(Region(start: offset, end: offset + 4 * count, kind: .data, path: path))
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 16)
    defer { scratch.deallocate() }
    for index in 0..<count {
      let verified = checkBlock(index, inode: inode, path: path, scratch: scratch, sink: &sink)
      if verified { report.blocksVerified += 1 }
      if isSymlink && index == 0 && verified && size <= blockSize {
        if UnsafeRawBufferPointer(rebasing: scratch[0..<size]).contains(0) {
          sink.error(.nulInSymlink, "symlink target contains a NUL byte", offset: offset, path: path)
        }
      }
    }
  }

  /// Two entries with the same data offset: fine when they are true duplicates.
  private func checkShared(
    _ inode: Inode, path: String, entryOffset: Int, with owner: (inode: Inode, path: String), sink: inout DiagnosticSink
  ) {
    let other = owner.inode
    if other.size != inode.size {
      sink.error(
        .sharedDataSize,
        "shares its data at \(hex(inode.byteOffset)) with \(owner.path) but has size \(inode.size), not \(other.size) (the kernel shows one inode for both)",
        offset: entryOffset, path: path)
    } else if other.mode != inode.mode || other.uid != inode.uid || other.gid != inode.gid {
      sink.warning(
        .sharedDataAttributes,
        "shares its data with \(owner.path) but differs in type, mode or owner: the kernel shows whichever is looked up first",
        offset: entryOffset, path: path)
    }
  }

  /// Checks block `index`; returns whether its content was decompressed (or copied) and verified.
  private mutating func checkBlock(
    _ index: Int, inode: Inode, path: String, scratch: UnsafeMutableRawBufferPointer, sink: inout DiagnosticSink
  ) -> Bool {
    let view = context.view
    let table = inode.byteOffset
    let size = Int(inode.size)
    let pointerOffset = table + 4 * index
    let expected = min(blockSize, size - index * blockSize)
    if !flags.contains(.extendedBlockPointers), let raw = try? view.uint32(at: pointerOffset), BlockPointer(rawValue: raw).hasFlags {
      // The kernel's read path honours the flags anyway (and so does the rest of this check); kernels
      // before 4.15 and the fsck tools do not.
      sink.error(
        .pointerFlagsWithoutExt,
        "block \(index) pointer \(hex(Int(raw))) has direct/uncompressed flags but the superblock lacks EXT_BLOCK_POINTERS (0x800)",
        offset: pointerOffset, path: path)
    }
    let location: BlockLocation
    do {
      location = try BlockLocation.find(block: index, tableOffset: table, fileSize: size, blockSize: blockSize, in: view)
    } catch {
      sink.error(error.isOutOfBounds ? .blockOutOfRange : .badBlockLength, error.error.message, offset: error.offset, path: path)
      return false
    }
    let pointer = location.pointer
    var regionStart = location.start
    if location.kind == .directCompressed || (location.kind == .hole && pointer.isDirect && !pointer.isUncompressed) {
      regionStart -= 2
    }
    switch location.kind {
    case .hole:
      if !flags.contains(.holes) {
        sink.warning(.holeWithoutFlag, "block \(index) is a hole but the superblock lacks the HOLES flag", offset: pointerOffset, path: path)
      }
      if pointer.isDirect { addRegion(start: regionStart, end: location.start, path: path) }
      return true
    case .directUncompressedFullLastPage:
      sink.warning(
        .directLastBlockReadsAsZeros,
        "last block is stored direct and uncompressed at full size: the kernel's read() returns zeros for it (mmap shows the data)",
        offset: pointerOffset, path: path)
    case .uncompressed, .directUncompressed, .compressed, .directCompressed:
      break
    }
    guard view.contains(offset: location.start, length: location.length) else {
      sink.error(
        .blockOutOfRange,
        "block \(index) (\(hex(location.start))-\(hex(location.end))) runs past the end of the image (\(hex(view.count)))",
        offset: pointerOffset, path: path)
      return false
    }
    addRegion(start: regionStart, end: location.end, path: path)
    if location.kind.isStoredVerbatim {
      guard location.length == expected else {
        sink.error(
          .badBlockLength, "uncompressed block \(index) holds \(location.length) bytes, expected \(expected)",
          offset: location.start, path: path)
        return false
      }
      if let source = try? view.slice(location.start, expected) {
        UnsafeMutableRawBufferPointer(rebasing: scratch[0..<expected]).copyMemory(from: source)
      }
      return true
    }
    guard verifyBlocks else { return false }
    inflatedInput += location.length
    guard inflatedInput <= inflateBudget else {
      verifyBlocks = false
      sink.error(
        .dataOverlap, "blocks add up to far more compressed data than the image holds; stopped decompressing",
        offset: location.start, path: path)
      return false
    }
    guard inode.fileType == .symlink else {
      // Decompressed later, on every core (see `verifyPendingBlocks`): the walk only records the block.
      pending.append(InflateJob(index: index, start: location.start, length: location.length, expected: expected, path: path))
      return false
    }
    guard let source = try? view.slice(location.start, location.length) else { return false }
    let produced: Int
    do {
      produced = try decompressor.decompress(source, into: scratch)
    } catch {
      sink.error(.decompressionFailed, "decompression error in block \(index): \(error.message)", offset: location.start, path: path)
      return false
    }
    guard produced == expected else {
      sink.error(
        .badBlockLength, "block \(index) inflates to \(produced) bytes, expected \(expected)", offset: location.start, path: path)
      return false
    }
    return true
  }

  /// A compressed block found by the walk, to be inflated and measured.
  struct InflateJob {
    var index: Int
    var start: Int
    var length: Int
    var expected: Int
    var path: String
  }

  /// Inflates every recorded block on all cores and reports, in walk order, those that fail or inflate
  /// to the wrong length.
  private mutating func verifyPendingBlocks(sink: inout DiagnosticSink, report: inout CheckReport) {
    guard !pending.isEmpty else { return }
    let jobs = pending
    pending = []
    let outcomes = UnsafeMutableBufferPointer<BlockDecompressor.Outcome>.allocate(capacity: jobs.count)
    outcomes.initialize(repeating: .invalid)
    defer { outcomes.deallocate() }
    // A thread per 64 blocks at most: starting one costs more than inflating a few blocks (small images).
    let threads = max(1, min(16, Threads.processorCount, (jobs.count + 63) / 64))
    progress?.addTotals(bytes: jobs.reduce(0) { $0 + $1.length })
    let shared = InflateWork(
      view: context.view, jobs: jobs, outcomes: outcomes, blockSize: blockSize, threads: threads, progress: progress)
    Threads.parallelFor(count: jobs.count, threads: threads, name: "cramfs-check") { worker, index in shared.run(worker: worker, job: index) }
    for (job, outcome) in zip(jobs, outcomes) {
      switch outcome {
      case .produced(job.expected):
        report.blocksVerified += 1
      case .produced(let produced):
        sink.error(
          .badBlockLength, "block \(job.index) inflates to \(produced) bytes, expected \(job.expected)", offset: job.start, path: job.path)
      case .invalid, .tooLarge:
        let message = BlockDecompressor.describe(outcome, capacity: blockSize)
        sink.error(.decompressionFailed, "decompression error in block \(job.index): \(message)", offset: job.start, path: job.path)
      }
    }
  }

  /// Records `[start, end)` as data of `path`, merged with the previous region when contiguous.
  private mutating func addRegion(start: Int, end: Int, path: String) {
    guard end > start else { return }
    if let last = regions.last, last.kind == .data, last.path == path, last.end == start {
      regions[regions.count - 1].end = end
    } else {
      regions.append(Region(start: start, end: end, kind: .data, path: path))
    }
  }

  private static func overlapCode(_ a: Region.Kind, _ b: Region.Kind) -> Diagnostic.Code {
    switch (a, b) {
    case (.superblock, _), (_, .superblock): .superblockOverlap
    case (.directory, .directory): .directoryOverlap
    case (.directory, .data), (.data, .directory): .directoryFileOverlap
    case (.data, .data): .dataOverlap
    }
  }

  /// Reports overlaps between structures, and data past the image's end.
  mutating func finish(sink: inout DiagnosticSink, report: inout CheckReport) {
    verifyPendingBlocks(sink: &sink, report: &report)
    regions.sort { ($0.start, $0.end) < ($1.start, $1.end) }
    var widest: Region?
    for region in regions {
      if let current = widest, region.start < current.end {
        if !(region.path == current.path && region.kind == current.kind) {
          sink.error(
            Self.overlapCode(region.kind, current.kind),
            "\(region.what) (\(hex(region.start))-\(hex(region.end))) and \(current.what) (\(hex(current.start))-\(hex(current.end))) overlap",
            offset: region.start, path: region.path)
        }
        if region.end > current.end { widest = region }
      } else {
        widest = region
      }
    }
  }
}


/// Inflates recorded blocks from worker threads: each worker owns a decompressor and a scratch block,
/// and writes only its jobs' outcome slots.
private final class InflateWork: @unchecked Sendable {
  let view: ByteView
  let jobs: [DataChecker.InflateJob]
  let outcomes: UnsafeMutableBufferPointer<BlockDecompressor.Outcome>
  let decompressors: [BlockDecompressor]
  let scratch: [UnsafeMutableRawBufferPointer]
  let progress: ProgressCounter?

  init(
    view: ByteView, jobs: [DataChecker.InflateJob], outcomes: UnsafeMutableBufferPointer<BlockDecompressor.Outcome>,
    blockSize: Int, threads: Int, progress: ProgressCounter?
  ) {
    self.progress = progress
    self.view = view
    self.jobs = jobs
    self.outcomes = outcomes
    decompressors = (0..<threads).map { _ in BlockDecompressor() }
    scratch = (0..<threads).map { _ in UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 16) }
  }

  deinit { for buffer in scratch { buffer.deallocate() } }

  func run(worker: Int, job index: Int) {
    let job = jobs[index]
    guard let source = try? view.slice(job.start, job.length) else { return }  // stays .invalid; checked when recorded
    outcomes[index] = decompressors[worker].inflate(source, into: scratch[worker])
    progress?.addBytes(job.length)
  }
}
