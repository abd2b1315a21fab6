import CCramfsShims

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import struct SystemPackage.FileDescriptor

/// Writes an image to a temporary file next to the destination and renames it into place when complete,
/// so the destination never holds a partial image (the temporary file is removed on error).
///
/// The data area streams out in order through a buffer; the directory area, the inserted file and the
/// superblock are written last, when every data offset is known; then the CRC is computed over the file.
struct ImageWriter {
  let tree: SourceTree
  let layout: ImageLayout
  let options: BuildOptions
  let insertedFileSize: Int

  func write(to destination: String, report: inout BuildReport) throws(CramfsError) {
    let output = try TemporaryFile(destination: destination)
    var committed = false
    defer { if !committed { output.discard() } }

    // Data area: the packed area (each item's pointer table and packed blocks), then the XIP area.
    var data = DataAreaWriter(
      layout: layout, tree: tree, options: options,
      buffer: OutputBuffer(fd: output.descriptor, path: output.path, start: layout.dataStart))
    try BlockPipeline.run(
      runs: layout.runs, items: layout.dataItems, tree: tree, options: options
    ) { (job, blocks) throws(CramfsError) in
      try data.consume(job, blocks, report: &report)
    }
    try data.finish(report: &report)
    let dataOffsets = data.dataOffsets
    let dataEnd = data.buffer.position
    try data.buffer.flush()
    let imageLength = (dataEnd + options.blockSize - 1) / options.blockSize * options.blockSize

    // Directory area.
    let directories = layout.directoryArea(
      tree: tree, dataOffsets: dataOffsets, byteOrder: options.byteOrder)
    try output.write(directories, at: layout.rootEntriesOffset)

    // Inserted file.
    if let inserted = options.insertedFile, insertedFileSize > 0 {
      try copyInsertedFile(
        inserted, to: output, at: options.superblockOffset + Superblock.encodedSize)
    }

    // Superblock, then the CRC over the finished image.
    var flags: SuperblockFlags = [.fsidVersion2, .sortedDirectories]
    if options.holes { flags.insert(.holes) }
    if insertedFileSize > 0 { flags.insert(.shiftedRootOffset) }
    if data.usesPointerFlags { flags.insert(.extendedBlockPointers) }
    let superblock = Superblock(
      size: UInt32(imageLength), flags: flags,
      fsid: FilesystemID(
        crc: 0, edition: options.edition, blocks: UInt32(layout.blockCount),
        files: UInt32(layout.fileCount)),
      name: options.volumeName, root: layout.inode(of: 0, tree: tree, dataOffsets: dataOffsets))
    try output.write(superblock.encoded(byteOrder: options.byteOrder), at: options.superblockOffset)
    try output.truncate(to: imageLength)
    let crc = try output.crc32(from: options.superblockOffset, to: imageLength)
    var crcBytes = ByteWriter(byteOrder: options.byteOrder)
    crcBytes.append(crc)
    try output.write(crcBytes.bytes, at: options.superblockOffset + Superblock.crcOffset)
    try output.commit(to: destination)
    committed = true

    report.imageSize = imageLength
    report.flags = flags
    report.crc = crc
    // The XIP figures are in the report (the tools print them); the log keeps to `mkfs.cramfs -v`'s lines.
    options.log?("Directory data: \(layout.dataStart) bytes")
    options.log?("Everything: \(imageLength >> 10) kilobytes")
    options.log?("CRC: \(String(crc, radix: 16))")
  }

  /// `-12.34% (-567 bytes)\tpath`, the line `mkfs.cramfs -v` prints per file.
  static func sizeChangeLine(stored: Int, original: Int, path: String) -> String {
    let change = stored - original
    let hundredths = abs(change) * 10_000 / original
    let sign = change < 0 ? "-" : "+"
    let fraction = String(hundredths % 100 + 100).dropFirst()
    return "\(sign)\(hundredths / 100).\(fraction)% (\(sign)\(abs(change)) bytes)\t\(path)"
  }

  private func copyInsertedFile(_ path: String, to output: TemporaryFile, at offset: Int)
    throws(CramfsError)
  {
    let source = try SourceFile(pathBytes: Array(path.utf8), size: insertedFileSize)
    var done = 0
    try DataSource.reader(source).forEachChunk(size: insertedFileSize) { chunk throws(CramfsError) in
      try output.write(Array(chunk)[...], at: offset + done)
      done += chunk.count
    }
  }
}

/// Places every block of the data area, in the order the pipeline delivers them, and fills in the
/// pointer tables. Tables of items with XIP blocks are patched once the XIP area (after the packed area,
/// where it starts depends on compressed sizes) has been placed.
private struct DataAreaWriter {
  let layout: ImageLayout
  let tree: SourceTree
  let options: BuildOptions
  var buffer: OutputBuffer
  /// For each entry: its pointer table's offset (0 without data).
  var dataOffsets: [Int]
  /// Some pointer carries a flag (the superblock then needs `EXT_BLOCK_POINTERS`).
  var usesPointerFlags = false
  /// The item whose table and packed blocks are being written.
  private var current: (item: Int, table: Int)?
  private var pointers: [BlockPointer] = []
  /// Items with XIP blocks: table offset and pointers, patched by ``finish(report:)``.
  private var pending: [Int: (table: Int, pointers: [BlockPointer])] = [:]
  /// End of the last block or table written in the packed area.
  private var packedEnd = 0
  private var areaStart: Int?
  /// For paths in messages (``SourceTree/path(of:parents:)``).
  private let parents: [Int32]

  init(layout: ImageLayout, tree: SourceTree, options: BuildOptions, buffer: OutputBuffer) {
    self.layout = layout
    self.tree = tree
    parents = tree.parentIndexes()
    self.options = options
    self.buffer = buffer
    dataOffsets = [Int](repeating: 0, count: tree.entries.count)
  }

  mutating func consume(_ job: BlockJob, _ blocks: [EncodedBlock], report: inout BuildReport)
    throws(CramfsError)
  {
    let run = layout.runs[job.run]
    if run.inArea {
      if areaStart == nil { try startArea(report: &report) }
    } else if current?.item != run.item {
      try finishItem(report: &report)
      try openItem(run.item)
    }
    let item = layout.dataItems[run.item]
    options.progress?.addBytes(job.length)
    for (index, block) in blocks.enumerated() {
      let blockIndex = job.firstBlock + index
      let slot = item.xip?.slots[blockIndex] ?? .packed
      // Checked before placing: pointers hold offsets below 1 GiB (an end pointer has 30 bits).
      var end = buffer.position + 8 + block.bytes.count
      if case .area(let offset, _) = slot { end = (areaStart ?? 0) + offset + block.bytes.count }
      guard end < 1 << 30 else {
        throw CramfsError(
          .limitExceeded, "image grows past 1 GiB", path: tree.path(of: item.entry, parents: parents))
      }
      let pointer = try place(block, slot: slot, report: &report)
      if pointer.hasFlags { usesPointerFlags = true }
      if run.inArea {
        pending[run.item]?.pointers[blockIndex] = pointer
      } else {
        pointers[blockIndex] = pointer
      }
    }
  }

  /// Finishes the packed area if no XIP area followed, then patches the tables of XIP items.
  mutating func finish(report: inout BuildReport) throws(CramfsError) {
    try finishItem(report: &report)
    for item in pending.keys.sorted() {
      guard let (table, pointers) = pending[item] else { continue }
      try buffer.patch(encode(pointers), at: table)
    }
  }

  private mutating func openItem(_ itemIndex: Int) throws(CramfsError) {
    let item = layout.dataItems[itemIndex]
    let table = buffer.position
    guard table < Inode.offsetLimit else {
      throw CramfsError(
        .limitExceeded,
        "data would start at 0x\(String(table, radix: 16)), past the 256 MiB limit",
        path: tree.path(of: item.entry, parents: parents))
    }
    dataOffsets[item.entry] = table
    current = (itemIndex, table)
    options.progress?.addEntries()
    pointers = [BlockPointer](repeating: BlockPointer(rawValue: 0), count: item.blockCount)
    try buffer.appendZeros(item.blockCount * 4)
    packedEnd = buffer.position
  }

  private mutating func finishItem(report: inout BuildReport) throws(CramfsError) {
    guard let (itemIndex, table) = current else { return }
    current = nil
    let item = layout.dataItems[itemIndex]
    // Only a warning or the verbose log needs the path: built on demand, not for every item.
    let path = { [tree, parents] in tree.path(of: item.entry, parents: parents) }
    var storedBytes = buffer.position - table
    if let plan = item.xip {
      pending[itemIndex] = (table, pointers)
      storedBytes += plan.areaBytes
      if plan.slots.contains(where: \.isDirectInArea) { report.xipFiles += 1 }
      if plan.guardsLastPage {
        report.readBugGuardFiles.append(plan.path)
        report.warnings.append(
          BuildWarning(
            kind: .readBugGuard, path: path(),
            message:
              "last page stored non-direct (not mapped directly) because the kernel's read() returns zeros "
              + "for a full-size direct last page; turning the read-bug guard off maps it on fixed kernels"))
      }
    } else {
      try buffer.patch(encode(pointers), at: table)
    }
    packedEnd = buffer.position
    try buffer.appendZeros((4 - buffer.position % 4) % 4)
    if let log = options.log { log(ImageWriter.sizeChangeLine(stored: storedBytes, original: item.size, path: path())) }
  }

  private mutating func startArea(report: inout BuildReport) throws(CramfsError) {
    try finishItem(report: &report)
    let alignment = layout.xipArea.alignment
    let start = (buffer.position + alignment - 1) / alignment * alignment
    try buffer.appendZeros(start - buffer.position)
    report.xipPaddingBytes += start - packedEnd
    areaStart = start
  }

  /// Writes one block where its slot says and returns its pointer.
  private mutating func place(_ block: EncodedBlock, slot: BlockSlot, report: inout BuildReport)
    throws(CramfsError) -> BlockPointer
  {
    switch slot {
    case .packed, .packedStored:
      try buffer.append(block.bytes)
      packedEnd = buffer.position
      switch block.kind {
      case .compressed:
        return .end(buffer.position)
      case .uncompressed:
        report.uncompressedBlocks += 1
        return .end(buffer.position, uncompressed: true)
      case .hole:
        report.holeBlocks += 1
        return .end(buffer.position)
      }
    case .packedDirect:
      let padding = (4 - buffer.position % 4) % 4
      try buffer.appendZeros(padding)
      report.xipPaddingBytes += padding
      let start = buffer.position
      if block.kind == .compressed {
        var prefix = ByteWriter(byteOrder: options.byteOrder, capacity: 2)
        prefix.append(UInt16(block.bytes.count))
        try buffer.append(prefix.bytes)
        try buffer.append(block.bytes)
        report.directCompressedBlocks += 1
      } else {
        try buffer.append(block.bytes)
        report.uncompressedBlocks += 1
        report.directBlocks += 1
      }
      packedEnd = buffer.position
      return .direct(start: start, uncompressed: block.kind != .compressed)
    case .area(let offset, let direct):
      let target = (areaStart ?? 0) + offset
      precondition(target >= buffer.position, "XIP area out of order")
      if direct { report.xipPaddingBytes += target - buffer.position }
      try buffer.appendZeros(target - buffer.position)
      try buffer.append(block.bytes)
      report.uncompressedBlocks += 1
      if direct {
        report.directBlocks += 1
        return .direct(start: target, uncompressed: true)
      }
      return .end(buffer.position, uncompressed: true)
    }
  }

  private func encode(_ pointers: [BlockPointer]) -> [UInt8] {
    var table = ByteWriter(byteOrder: options.byteOrder, capacity: pointers.count * 4)
    for pointer in pointers { table.append(pointer.rawValue) }
    return table.bytes
  }
}

/// The data area's write buffer: appends in order, flushes with `pwrite`, and can patch bytes already
/// written (pointer tables are filled in after their blocks).
private struct OutputBuffer {
  let fd: FileDescriptor
  let path: String
  /// Image offset of `bytes[0]`.
  var start: Int
  var bytes: [UInt8] = []
  static let capacity = 4 << 20

  init(fd: FileDescriptor, path: String, start: Int) {
    self.fd = fd
    self.path = path
    self.start = start
    bytes.reserveCapacity(Self.capacity)
  }

  var position: Int { start + bytes.count }

  mutating func append(_ data: [UInt8]) throws(CramfsError) {
    bytes.append(contentsOf: data)
    if bytes.count >= Self.capacity { try flush() }
  }

  mutating func appendZeros(_ count: Int) throws(CramfsError) {
    bytes.append(contentsOf: repeatElement(0, count: count))
    if bytes.count >= Self.capacity { try flush() }
  }

  /// Overwrites `data.count` bytes at image offset `offset`, in the buffer or in the file.
  mutating func patch(_ data: [UInt8], at offset: Int) throws(CramfsError) {
    let inFile = max(0, min(data.count, start - offset))
    if inFile > 0 { try writeAll(fd: fd, path: path, data[0..<inFile], at: offset) }
    for i in inFile..<data.count { bytes[offset + i - start] = data[i] }
  }

  mutating func flush() throws(CramfsError) {
    guard !bytes.isEmpty else { return }
    try writeAll(fd: fd, path: path, bytes[...], at: start)
    start += bytes.count
    bytes.removeAll(keepingCapacity: true)
  }
}

/// `pwrite`s all of `data` at `offset`: swift-system retries short writes and `EINTR`, and throws only
/// on failure.
private func writeAll(fd: FileDescriptor, path: String, _ data: ArraySlice<UInt8>, at offset: Int)
  throws(CramfsError)
{
  do {
    try fd.writeAll(toAbsoluteOffset: Int64(offset), data)
  } catch {
    throw SystemCall.error("cannot write \(path)", thrown: error, path: path)
  }
}

/// A file created next to `destination` that becomes it on `commit`, or disappears on `discard`.
/// The image while it is written: an unnamed file in the destination's directory (`O_TMPFILE`), given its
/// name only when complete, so a build killed at any moment (even by SIGKILL) leaves no file behind. Where
/// the file system has no unnamed files, a hidden named file renamed into place instead.
private final class TemporaryFile {
  let descriptor: FileDescriptor
  /// The name used in messages: the destination, or the hidden file.
  let path: String
  /// The hidden file's name, when the file system refused an unnamed one.
  private let hiddenPath: String?
  private var isClosed = false

  init(destination: String) throws(CramfsError) {
    let slash = destination.lastIndex(of: "/")
    let directory = slash.map { String(destination[..<$0]) } ?? "."
    // swift-system has no O_TMPFILE nor mkstemp: the raw descriptors are wrapped at once.
    let unnamed = CCramfsShims_open_tmpfile(directory.isEmpty ? "/" : directory)
    if unnamed >= 0 {
      descriptor = FileDescriptor(rawValue: unnamed)
      path = destination
      hiddenPath = nil
      return
    }
    let prefix = slash.map { String(destination[...$0]) } ?? ""
    let base = slash.map { String(destination[destination.index(after: $0)...]) } ?? destination
    var template = Array((prefix + "." + base + ".tmp-XXXXXX").utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    guard fd >= 0 else {
      throw SystemCall.error("cannot create a temporary file next to \(destination)", path: destination)
    }
    _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    descriptor = FileDescriptor(rawValue: fd)
    let hidden = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    path = hidden
    hiddenPath = hidden
  }

  func write(_ data: [UInt8], at offset: Int) throws(CramfsError) {
    try writeAll(fd: descriptor, path: path, data[...], at: offset)
  }

  func write(_ data: ArraySlice<UInt8>, at offset: Int) throws(CramfsError) {
    try writeAll(fd: descriptor, path: path, data, at: offset)
  }

  func truncate(to length: Int) throws(CramfsError) {
    do {
      try descriptor.resize(to: Int64(length))
    } catch {
      throw SystemCall.error("cannot size \(path)", thrown: error, path: path)
    }
  }

  /// CRC-32 of `[start, end)`, read back in chunks (a mapping would count the whole image in our RSS).
  func crc32(from start: Int, to end: Int) throws(CramfsError) -> UInt32 {
    let chunkSize = 1 << 20
    let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
    defer { chunk.deallocate() }
    var crc: UInt32 = 0
    var offset = start
    while offset < end {
      let count: Int
      do {
        // Retried on EINTR by swift-system.
        count = try descriptor.read(
          fromAbsoluteOffset: Int64(offset), into: UnsafeMutableRawBufferPointer(rebasing: chunk[0..<min(chunkSize, end - offset)]))
      } catch {
        throw SystemCall.error("cannot read back \(path)", thrown: error, path: path)
      }
      guard count > 0 else {
        throw CramfsError(.io, "cannot read back \(path): file is short", path: path)
      }
      crc = crc32Checksum(UnsafeRawBufferPointer(rebasing: chunk[0..<count]), continuing: crc)
      offset += count
    }
    return crc
  }

  /// Gives the file the usual permissions (0666 minus the umask, as `creat` would) and its name.
  func commit(to destination: String) throws(CramfsError) {
    let mask = umask(0)
    umask(mask)
    // No swift-system wrapper for fchmod.
    guard fchmod(descriptor.rawValue, 0o666 & ~mask) == 0 else {
      throw SystemCall.error("cannot finish \(path)", path: path)
    }
    if hiddenPath == nil { try link(to: destination) }
    isClosed = true
    do {
      try descriptor.close()
    } catch {
      throw SystemCall.error("cannot finish \(path)", thrown: error, path: path)
    }
    guard let hiddenPath else { return }
    guard rename(hiddenPath, destination) == 0 else {
      let reason = SystemCall.text()
      unlink(hiddenPath)
      throw CramfsError(.io, "cannot rename \(hiddenPath) to \(destination): \(reason)", path: destination)
    }
  }

  /// Names the unnamed file `destination`: directly when the name is free (atomic, nothing to clean up);
  /// over an existing file through a hidden name and `rename`, which replaces it atomically.
  private func link(to destination: String) throws(CramfsError) {
    var result = CCramfsShims_link_tmpfile(descriptor.rawValue, destination)
    if result == -EEXIST {
      let slash = destination.lastIndex(of: "/")
      let prefix = slash.map { String(destination[...$0]) } ?? ""
      let base = slash.map { String(destination[destination.index(after: $0)...]) } ?? destination
      for attempt in 0..<100 {
        let hidden = prefix + "." + base + ".tmp-\(getpid())-\(attempt)"
        result = CCramfsShims_link_tmpfile(descriptor.rawValue, hidden)
        if result == -EEXIST { continue }
        if result == 0, rename(hidden, destination) != 0 {
          result = -errno
          unlink(hidden)
        }
        break
      }
    }
    guard result == 0 else {
      throw SystemCall.error("cannot create \(destination)", errno: -result, path: destination)
    }
  }

  func discard() {
    if !isClosed { try? descriptor.close() }
    if let hiddenPath { unlink(hiddenPath) }
  }
}
