/// Walks every directory from the root (``DirectoryWalker``, in image order) and checks each entry:
/// ranges, names, order, loops, types, and (through ``DataChecker``) every file's pointer table and blocks.
struct TreeChecker {
  let context: CheckContext
  let options: CheckOptions
  var data: DataChecker
  private var entryCount = 0
  private var directoryStart = Int.max
  private var directoryEnd = 0
  /// Names met so far in the directory being walked, and the last one (for duplicates and order).
  private var names: Set<[UInt8]> = []
  private var previousName: [UInt8]?

  init(context: CheckContext, options: CheckOptions) {
    self.context = context
    self.options = options
    data = DataChecker(context: context, verifyBlocks: options.verifyBlocks, progress: options.progress)
  }

  mutating func run(sink: inout DiagnosticSink, report: inout CheckReport) {
    let start = context.geometry.superblockOffset
    data.regions.append(Region(start: 0, end: start + Superblock.encodedSize, kind: .superblock, path: "/"))
    // Each directory's context is its path (`/` for the root).
    var walker = DirectoryWalker<String>(view: context.view, order: .imageOrder)
    walker.walk(from: .root(context.superblock, superblockOffset: start, context: "/")) { directory, entries in
      enter(directory, entries: entries)
    } visit: { entry, parent, mayEnter in
      check(entry, in: parent.context, mayEnter: mayEnter, sink: &sink, report: &report)
    } problem: { problem, directory in
      sink.add(Self.diagnostic(problem, directory: directory, view: context.view))
    }
    data.finish(sink: &sink, report: &report)
    checkAreas(sink: &sink)
    checkCounts(sink: &sink)
  }

  /// Records a directory the walk reads: its entries' region and the directory area's extent.
  private mutating func enter(_ directory: DirectoryWalker<String>.Directory, entries: [ScannedEntry]) {
    let start = directory.inode.byteOffset
    let end = start + Int(directory.inode.size)
    data.regions.append(Region(start: start, end: end, kind: .directory, path: directory.context))
    directoryStart = min(directoryStart, start)
    directoryEnd = max(directoryEnd, end)
    options.progress?.addTotals(entries: entries.count)
    names = []
    previousName = nil
  }

  /// What the walk found wrong with a directory, as the checker reports it.
  private static func diagnostic(_ problem: WalkProblem<String>, directory: DirectoryWalker<String>.Directory, view: ByteView) -> Diagnostic {
    let path = directory.context
    let start = directory.inode.byteOffset
    let size = Int(directory.inode.size)
    switch problem {
    case .zeroOffset:
      return Diagnostic(.error, .zeroOffset, "directory has zero offset and non-zero size \(size)", offset: directory.entryOffset, path: path)
    case .alreadyWalked(let other):
      let isLoop = other == "/" || path.hasPrefix(other + "/")
      return Diagnostic(
        .error, isLoop ? .directoryLoop : .sharedDirectory,
        isLoop
          ? "directory loop: its entries at \(hex(start)) are those of its ancestor \(other)"
          : "its entries at \(hex(start)) are also the entries of \(other)",
        offset: directory.entryOffset, path: path)
    case .outOfRange:
      return Diagnostic(
        .error, .directoryOutOfRange,
        "directory entries \(hex(start))-\(hex(start + size)) run past the end of the image (\(hex(view.count)))",
        offset: directory.entryOffset, path: path)
    case .overlap:
      return Diagnostic(
        .error, .directoryOverlap, "directory entries at \(hex(start)) overlap other directories (more entry bytes than the image holds)",
        offset: directory.entryOffset, path: path)
    case .pathTooLong:
      return Diagnostic(
        .error, .pathTooLong, "path is longer than \(WalkGuard.maxPathLength) bytes; not walked further",
        offset: directory.entryOffset, path: path)
    case .unreadableEntry(let entry):
      return entry.diagnostic(path: path)
    }
  }

  /// Checks one entry of the directory at `parentPath`; returns its path when it is a directory to walk.
  private mutating func check(
    _ entry: ScannedEntry, in parentPath: String, mayEnter: Bool, sink: inout DiagnosticSink, report: inout CheckReport
  ) -> String? {
    entryCount += 1
    options.progress?.addEntries()
    let path = DirectoryScanner.join(parentPath, entry.name)
    checkName(entry, path: path, sink: &sink)
    if !names.insert(entry.name).inserted {
      sink.error(.duplicateName, "duplicate name in its directory", offset: entry.offset, path: path)
    } else if context.superblock.flags.contains(.sortedDirectories), let previous = previousName,
      !previous.precedesInByteOrder(entry.name)
    {
      sink.error(
        .unsortedEntries,
        "entries are not sorted: '\(DirectoryScanner.displayName(previous))' comes before '\(DirectoryScanner.displayName(entry.name))' (the kernel's lookup misses entries)",
        offset: entry.offset, path: path)
    }
    previousName = entry.name
    return checkEntry(entry, path: path, mayEnter: mayEnter, sink: &sink, report: &report)
  }

  private func checkName(_ entry: ScannedEntry, path: String, sink: inout DiagnosticSink) {
    if entry.inode.nameWords == 0 {
      sink.error(.emptyName, "entry has a zero-length name", offset: entry.offset, path: path)
      return
    }
    if let problem = DirectoryScanner.nameProblem(entry.name) {
      sink.error(problem.code, problem.message, offset: entry.offset + Inode.encodedSize, path: path)
    }
    if !entry.name.isEmpty && entry.paddingCount > 3 {
      sink.error(
        .badNamePadding, "name is followed by \(entry.paddingCount) NUL bytes (at most 3 are padding)",
        offset: entry.offset + Inode.encodedSize, path: path)
    }
  }

  /// Checks one entry by type; returns its path when it is a directory to walk.
  private mutating func checkEntry(
    _ entry: ScannedEntry, path: String, mayEnter: Bool, sink: inout DiagnosticSink, report: inout CheckReport
  ) -> String? {
    let inode = entry.inode
    switch inode.fileType {
    case nil:
      sink.error(.badMode, "bogus mode 0o\(String(inode.mode, radix: 8)) (unknown file type)", offset: entry.offset, path: path)
    case .directory:
      report.directories += 1
      guard mayEnter else {
        sink.error(.pathTooLong, "path is longer than \(WalkGuard.maxPathLength) bytes; not walked further", offset: entry.offset, path: path)
        return nil
      }
      return path
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
