/// Walks every directory from the root and checks each entry: ranges, names, order, loops, types,
/// and (through ``DataChecker``) every file's pointer table and blocks.
struct TreeChecker {
  let context: CheckContext
  let options: CheckOptions
  var data: DataChecker
  /// Directories already walked, by the offset of their entries, with their path.
  private var walked: [Int: String] = [:]
  /// Bytes of directory entries walked so far; legal directories never overlap, so this stays below the
  /// image size, which bounds the walk.
  private var walkedBytes = 0
  private var entryCount = 0
  private var directoryStart = Int.max
  private var directoryEnd = 0
  /// Longest path walked into (deeper directories are reported, not walked).
  static let maxPathLength = 16384

  init(context: CheckContext, options: CheckOptions) {
    self.context = context
    self.options = options
    data = DataChecker(context: context, verifyBlocks: options.verifyBlocks, progress: options.progress)
  }

  /// A directory still to walk. Siblings share their parent's path; their own is made when walked.
  private struct PendingDirectory {
    var inode: Inode
    var parentPath: String
    var name: [UInt8]
    var entryOffset: Int
    var path: String { name.isEmpty && parentPath.isEmpty ? "/" : DirectoryScanner.join(parentPath, name) }
  }

  mutating func run(sink: inout DiagnosticSink, report: inout CheckReport) {
    let start = context.geometry.superblockOffset
    data.regions.append(Region(start: 0, end: start + Superblock.encodedSize, kind: .superblock, path: "/"))
    var pending = [PendingDirectory(inode: context.superblock.root, parentPath: "", name: [], entryOffset: start + 64)]
    while let directory = pending.popLast() {
      let children = walk(directory, sink: &sink, report: &report)
      pending.append(contentsOf: children.reversed())
    }
    data.finish(sink: &sink, report: &report)
    checkAreas(sink: &sink)
    checkCounts(sink: &sink)
  }

  /// Checks one directory's entries; returns its subdirectories to walk.
  private mutating func walk(_ directory: PendingDirectory, sink: inout DiagnosticSink, report: inout CheckReport) -> [PendingDirectory] {
    let inode = directory.inode
    let path = directory.path
    let size = Int(inode.size)
    let start = inode.byteOffset
    if start == 0 {
      if size != 0 {
        sink.error(.zeroOffset, "directory has zero offset and non-zero size \(size)", offset: directory.entryOffset, path: path)
      }
      return []
    }
    guard size != 0 else { return [] }
    if let other = walked[start] {
      let isLoop = other == "/" || path.hasPrefix(other + "/")
      sink.error(
        isLoop ? .directoryLoop : .sharedDirectory,
        isLoop
          ? "directory loop: its entries at \(hex(start)) are those of its ancestor \(other)"
          : "its entries at \(hex(start)) are also the entries of \(other)",
        offset: directory.entryOffset, path: path)
      return []
    }
    guard context.view.contains(offset: start, length: size) else {
      sink.error(
        .directoryOutOfRange,
        "directory entries \(hex(start))-\(hex(start + size)) run past the end of the image (\(hex(context.view.count)))",
        offset: directory.entryOffset, path: path)
      return []
    }
    walkedBytes += size
    guard walkedBytes <= context.view.count else {
      sink.error(
        .directoryOverlap, "directory entries at \(hex(start)) overlap other directories (more entry bytes than the image holds)",
        offset: directory.entryOffset, path: path)
      return []
    }
    walked[start] = path
    data.regions.append(Region(start: start, end: start + size, kind: .directory, path: path))
    directoryStart = min(directoryStart, start)
    directoryEnd = max(directoryEnd, start + size)

    let (entries, unreadable) = DirectoryScanner.scan(context.view, start: start, size: size)
    var subdirectories: [PendingDirectory] = []
    var names: Set<[UInt8]> = []
    var previous: [UInt8]?
    let sorted = context.superblock.flags.contains(.sortedDirectories)
    options.progress?.addTotals(entries: entries.count)
    for entry in entries {
      entryCount += 1
      options.progress?.addEntries()
      let childPath = DirectoryScanner.join(path, entry.name)
      checkName(entry, path: childPath, sink: &sink)
      if !names.insert(entry.name).inserted {
        sink.error(.duplicateName, "duplicate name in its directory", offset: entry.offset, path: childPath)
      } else if sorted, let previous, !previous.lexicographicallyPrecedes(entry.name) {
        sink.error(
          .unsortedEntries,
          "entries are not sorted: '\(DirectoryScanner.displayName(previous))' comes before '\(DirectoryScanner.displayName(entry.name))' (the kernel's lookup misses entries)",
          offset: entry.offset, path: childPath)
      }
      previous = entry.name
      if let child = checkEntry(entry, path: childPath, parentPath: path, sink: &sink, report: &report) {
        subdirectories.append(child)
      }
    }
    if let unreadable { sink.add(unreadable.diagnostic(path: path)) }
    return subdirectories
  }

  private func checkName(_ entry: ScannedEntry, path: String, sink: inout DiagnosticSink) {
    if entry.inode.nameWords == 0 {
      sink.error(.emptyName, "entry has a zero-length name", offset: entry.offset, path: path)
      return
    }
    if let (code, message) = DirectoryScanner.nameProblem(entry.name) {
      sink.error(code, message, offset: entry.offset + Inode.encodedSize, path: path)
    }
    if !entry.name.isEmpty && entry.paddingCount > 3 {
      sink.error(
        .badNamePadding, "name is followed by \(entry.paddingCount) NUL bytes (at most 3 are padding)",
        offset: entry.offset + Inode.encodedSize, path: path)
    }
  }

  /// Checks one entry by type; returns it when it is a directory to walk.
  private mutating func checkEntry(
    _ entry: ScannedEntry, path: String, parentPath: String, sink: inout DiagnosticSink, report: inout CheckReport
  ) -> PendingDirectory? {
    let inode = entry.inode
    switch inode.fileType {
    case nil:
      sink.error(.badMode, "bogus mode 0o\(String(inode.mode, radix: 8)) (unknown file type)", offset: entry.offset, path: path)
    case .directory:
      report.directories += 1
      guard path.utf8.count <= Self.maxPathLength else {
        sink.error(.pathTooLong, "path is longer than \(Self.maxPathLength) bytes; not walked further", offset: entry.offset, path: path)
        return nil
      }
      return PendingDirectory(inode: inode, parentPath: parentPath, name: entry.name, entryOffset: entry.offset)
    case .regular, .symlink:
      if inode.fileType == .regular { report.files += 1 } else { report.symlinks += 1 }
      data.checkFile(inode: inode, entryOffset: entry.offset, path: path, sink: &sink, report: &report)
    case .characterDevice, .blockDevice:
      report.specialFiles += 1
      if inode.offsetWords != 0 {
        sink.error(.specialWithOffset, "special file has non-zero offset \(hex(inode.byteOffset))", offset: entry.offset, path: path)
      }
      if inode.size > 0xFFFF {
        sink.warning(
          .deviceNumberBits, "device number \(hex(Int(inode.size))) uses bits above 16, which the kernel ignores",
          offset: entry.offset, path: path)
      }
    case .fifo, .socket:
      report.specialFiles += 1
      if inode.offsetWords != 0 {
        sink.error(.specialWithOffset, "special file has non-zero offset \(hex(inode.byteOffset))", offset: entry.offset, path: path)
      }
      if inode.size != 0 {
        sink.error(.specialWithSize, "\(inode.fileType == .fifo ? "fifo" : "socket") has non-zero size \(inode.size)", offset: entry.offset, path: path)
      }
    }
    return nil
  }

  /// The fsck tools' layout rule: the directory area ends exactly where file data starts.
  private func checkAreas(sink: inout DiagnosticSink) {
    guard let dataStart = data.dataStart, directoryEnd > 0 else { return }
    let superblockEnd = context.geometry.superblockOffset + Superblock.encodedSize
    if dataStart < superblockEnd {
      sink.error(.dataBeforeDirectories, "file data starts at \(hex(dataStart)), inside the superblock", offset: dataStart)
    } else if directoryEnd != dataStart {
      sink.error(
        .directoryDataGap, "directory data end (\(hex(directoryEnd))) != file data start (\(hex(dataStart)))",
        offset: min(directoryEnd, dataStart))
    }
  }

  /// `fsid.files` and `fsid.blocks` against what the walk counted (statfs reports them).
  private func checkCounts(sink: inout DiagnosticSink) {
    let superblock = context.superblock
    guard superblock.flags.contains(.fsidVersion2), sink.errorCount == 0 else { return }
    let start = context.geometry.superblockOffset
    if Int(superblock.fsid.files) != entryCount + 1 {
      sink.warning(
        .fsidFilesMismatch, "fsid.files is \(superblock.fsid.files), but the image has \(entryCount + 1) inodes (root included)",
        offset: start + 44)
    }
    if Int(superblock.fsid.blocks) != data.blockCount {
      sink.warning(
        .fsidBlocksMismatch, "fsid.blocks is \(superblock.fsid.blocks), but the files hold \(data.blockCount) blocks",
        offset: start + 40)
    }
  }
}
