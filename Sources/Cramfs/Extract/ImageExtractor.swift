#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import Synchronization
import struct SystemPackage.FileDescriptor

/// Recreates an image's tree on the host: directories, files, symlinks, device nodes, fifos and sockets,
/// with their modes (setuid, setgid and sticky included) and, as root, their owners.
///
///     let image = try CramfsImage(path: "rootfs.cramfs")
///     let report = try ImageExtractor.extract(image, to: "out")
///     for problem in report.diagnostics { print(problem) }
///
/// Never writes outside the target directory: every entry is created relative to its parent's descriptor
/// (`openat`, `mkdirat`, `symlinkat`, `mknodat`) with `O_NOFOLLOW`/`O_EXCL`, so no symlink is followed,
/// not even one the extraction created. Names that are empty, `.`, `..`, or contain `/` or NUL are
/// refused, and so is a second entry with a name already used in the same directory. Modes are applied
/// after a file's content is written and after a directory's children exist; times are set to 0 (cramfs
/// stores none). A corrupt block is reported (path and offset) and written as zeros; the rest continues.
/// Sockets are created as socket nodes, as the kernel shows them.
public enum ImageExtractor {
  /// Extracts the whole image into `directory`, which is created if missing.
  ///
  /// - Throws: `CramfsError` when the target cannot be created or opened, or is not empty and
  ///   ``ExtractOptions/overwrite`` is off. Problems with entries are diagnostics in the report.
  public static func extract(_ image: CramfsImage, to directory: String, options: ExtractOptions = ExtractOptions()) throws(CramfsError)
    -> ExtractReport
  {
    HostDirectory.raiseOpenFileLimit()
    var created = false
    if mkdir(directory, 0o700) == 0 {
      created = true
    } else if errno != EEXIST {
      throw SystemCall.error("cannot create \(directory)", path: directory)
    }
    let root = try FileDescriptor.open(
      path: directory, .readOnly, options: [.directory, .closeOnExec], orThrow: "cannot open \(directory)")
    if !created && !options.overwrite && HostDirectory.isNonEmpty(root) {
      try? root.close()
      throw CramfsError(.targetNotEmpty, "\(directory) exists and is not empty", path: directory)
    }
    var extraction = Extraction(image: image, options: options, rootDescriptor: root, rootCreated: created)
    extraction.createTree()
    extraction.writeFiles()
    extraction.finishDirectories()
    return extraction.report()
  }
}

/// One extraction: the tree pass (sequential), the file pass (parallel), then directory modes.
struct Extraction {
  let image: CramfsImage
  let options: ExtractOptions
  let preserveOwners: Bool
  var sink: DiagnosticSink
  var counts = ExtractReport()

  /// A directory created (or merged into) on the host, kept open until its mode is applied.
  struct HostDirectoryRecord {
    var descriptor: FileDescriptor
    var inode: Inode
    var path: String
    /// False for a pre-existing target whose mode we leave alone.
    var applyAttributes: Bool
    /// Index of the parent's record (nil for the target).
    var parent: Int?
    /// Attributes applied and descriptor closed.
    var finished = false
  }

  /// A regular file whose content the file pass writes.
  struct FileJob: Sendable {
    var parent: FileDescriptor
    var name: [UInt8]
    var node: Node
    /// The parent's path, shared by all its files (the file's own path is made only for messages).
    var parentPath: String
    var path: String { DirectoryScanner.join(parentPath, name) }
  }

  var directories: [HostDirectoryRecord] = []
  var files: [FileJob] = []
  /// Directories created whose entries the walk has not read yet: they stay open (see `flush`).
  private var pendingDirectories: Set<Int> = []

  init(image: CramfsImage, options: ExtractOptions, rootDescriptor: FileDescriptor, rootCreated: Bool) {
    self.image = image
    self.options = options
    preserveOwners = options.preserveOwners ?? (geteuid() == 0)
    sink = DiagnosticSink(limit: options.maxDiagnostics)
    directories.append(HostDirectoryRecord(descriptor: rootDescriptor, inode: image.superblock.root, path: "/", applyAttributes: rootCreated, parent: nil))
  }

  // MARK: - Tree pass

  /// Creates every entry but the files' content, walking the image in image order. A directory is
  /// entered only once it is created on the host, and never twice (``DirectoryWalker``'s guard).
  mutating func createTree() {
    // Each directory's context is the index of its record in `directories` (the target's is 0).
    var walker = DirectoryWalker<Int>(view: image.view, order: .imageOrder)
    let root = DirectoryWalker<Int>.Directory.root(image.superblock, superblockOffset: image.geometry.superblockOffset, context: 0)
    walker.walk(from: root) { directory, entries in
      enter(directory.context, entryCount: entries.count)
    } visit: { entry, parent, mayEnter in
      visit(entry, in: parent.context, mayEnter: mayEnter)
    } problem: { problem, directory in
      refuse(directory, problem)
    }
  }

  /// Directory descriptors currently open.
  private var openDirectories = 1

  private mutating func enter(_ index: Int, entryCount: Int) {
    pendingDirectories.remove(index)
    if openDirectories > max(options.maxOpenDirectories, 2) { flush(keeping: pendingDirectories.union([index])) }
    options.progress?.addTotals(entries: entryCount)
    names = []
  }

  /// Writes the files queued so far, then finishes every directory that nothing pending lies below,
  /// so that the number of open descriptors stays bounded.
  private mutating func flush(keeping pending: Set<Int>) {
    writeFiles()
    var needed = Set<Int>()
    for index in pending {
      var current: Int? = index
      while let at = current, needed.insert(at).inserted { current = directories[at].parent }
    }
    for index in directories.indices.reversed() where !directories[index].finished && !needed.contains(index) {
      finish(index)
    }
  }

  /// Names created so far in the directory being walked.
  private var names: Set<[UInt8]> = []

  /// Creates one entry of directory `parent`; returns the index of the directory created, to walk.
  private mutating func visit(_ entry: ScannedEntry, in parent: Int, mayEnter: Bool) -> Int? {
    let directory = directories[parent]
    // Files count when written (file pass); the rest when created here, or refused.
    if entry.inode.fileType != .regular { options.progress?.addEntries() }
    if let problem = DirectoryScanner.nameProblem(entry.name) {
      sink.error(problem.code, "refused to extract: \(problem.message)", offset: entry.offset, path: DirectoryScanner.join(directory.path, entry.name))
      return nil
    }
    guard names.insert(entry.name).inserted else {
      sink.error(
        .duplicateName, "refused to extract a second entry with the same name (it could redirect writes through the first)",
        offset: entry.offset, path: DirectoryScanner.join(directory.path, entry.name))
      return nil
    }
    guard let created = create(entry, in: directory.descriptor, parentPath: directory.path, parent: parent, mayEnter: mayEnter) else { return nil }
    // An empty directory is never entered: nothing keeps it open.
    if DirectoryWalker<Int>.hasEntries(entry.inode) { pendingDirectories.insert(created) }
    return created
  }

  /// Reports a directory the walk does not read (or not to the end).
  private mutating func refuse(_ directory: DirectoryWalker<Int>.Directory, _ problem: WalkProblem<Int>) {
    let path = directories[directory.context].path
    let start = directory.inode.byteOffset
    let size = Int(directory.inode.size)
    switch problem {
    case .zeroOffset:
      break  // empty, as the kernel shows it
    case .alreadyWalked:
      sink.error(.directoryLoop, "refused: entries at \(hex(start)) were already extracted (directory loop)", offset: start, path: path)
    case .outOfRange, .overlap:
      sink.error(.directoryOutOfRange, "directory entries \(hex(start))-\(hex(start + size)) lie outside the image or overlap", offset: start, path: path)
    case .pathTooLong:
      sink.error(.pathTooLong, "refused: path is longer than \(WalkGuard.maxPathLength) bytes", offset: directory.entryOffset, path: path)
    case .unreadableEntry(let entry):
      sink.add(entry.diagnostic(path: path))
    }
    pendingDirectories.remove(directory.context)
  }

  private mutating func hostFailure(_ what: String, errno code: Int32 = errno, path: String, offset: Int) {
    sink.error(.ioError, "\(what): \(SystemCall.text(code))", offset: offset, path: path)
  }

  /// Makes room for `entry` when overwriting; returns false if something is in the way.
  private mutating func clear(_ name: [UInt8], in parent: FileDescriptor, keepDirectory: Bool, path: String, offset: Int) -> Bool {
    guard options.overwrite else { return true }
    let result = HostDirectory.removeNonDirectory(parent, name)
    if result.removed { return true }
    if result.isDirectory {
      if keepDirectory { return true }
      if HostDirectory.removeEmptyDirectory(parent, name) == 0 { return true }
      hostFailure("cannot replace the existing directory", path: path, offset: offset)
      return false
    }
    errno = result.errno
    hostFailure("cannot remove the existing entry", path: path, offset: offset)
    return false
  }

  /// Creates one entry; returns the index of a created directory, to walk.
  private mutating func create(_ entry: ScannedEntry, in parent: FileDescriptor, parentPath: String, parent parentIndex: Int, mayEnter: Bool) -> Int? {
    let path = DirectoryScanner.join(parentPath, entry.name)
    let inode = entry.inode
    let name = entry.name
    let node = Node(entry: DirectoryEntry(entryOffset: entry.offset, inode: inode, name: name))
    guard let type = inode.fileType else {
      sink.error(.badMode, "skipped: unknown file type in mode 0o\(String(inode.mode, radix: 8))", offset: entry.offset, path: path)
      return nil
    }
    guard clear(name, in: parent, keepDirectory: type == .directory, path: path, offset: entry.offset) else { return nil }
    let permissions = mode_t(inode.permissions)
    switch type {
    case .directory:
      guard mayEnter else {
        sink.error(.pathTooLong, "refused: path is longer than \(WalkGuard.maxPathLength) bytes", offset: entry.offset, path: path)
        return nil
      }
      if HostDirectory.makeDirectory(parent, name) != 0 && !(errno == EEXIST && options.overwrite) {
        hostFailure("cannot create directory", path: path, offset: entry.offset)
        return nil
      }
      let descriptor: FileDescriptor
      switch HostDirectory.openDirectory(parent, name) {
      case .success(let opened):
        descriptor = opened
      case .failure(let code):
        if code == .tooManySymbolicLinkLevels || code == .notDirectory {
          sink.error(.unsafePath, "refused: a symlink or non-directory is where a directory is expected", offset: entry.offset, path: path)
        } else {
          hostFailure("cannot open directory", errno: code.rawValue, path: path, offset: entry.offset)
        }
        return nil
      }
      counts.directories += 1
      directories.append(HostDirectoryRecord(descriptor: descriptor, inode: inode, path: path, applyAttributes: true, parent: parentIndex))
      openDirectories += 1
      return directories.count - 1
    case .regular:
      counts.files += 1
      options.progress?.addTotals(bytes: Int(inode.size))
      files.append(FileJob(parent: parent, name: name, node: node, parentPath: parentPath))
      return nil
    case .symlink:
      let target: [UInt8]
      do {
        target = try image.readlink(node)
      } catch {
        sink.error(.badSymlink, "cannot read the symlink's target: \(error.message)", offset: error.offset ?? entry.offset, path: path)
        return nil
      }
      guard !target.isEmpty, !target.contains(0) else {
        sink.error(.nulInSymlink, "refused: symlink target is empty or contains a NUL byte", offset: entry.offset, path: path)
        return nil
      }
      guard target.count <= min(Inode.maxSymlinkTargetLength(pageSize: image.blockSize), Int(PATH_MAX) - 1) else {
        sink.error(
          .symlinkTooLong, "refused: symlink target is \(target.count) bytes, longer than a page or PATH_MAX",
          offset: entry.offset, path: path)
        return nil
      }
      guard HostDirectory.makeSymlink(parent, name, target: target) == 0 else {
        hostFailure("cannot create symlink", path: path, offset: entry.offset)
        return nil
      }
      counts.symlinks += 1
    case .characterDevice, .blockDevice, .fifo, .socket:
      let kind: mode_t =
        switch type {
        case .characterDevice: S_IFCHR
        case .blockDevice: S_IFBLK
        case .fifo: S_IFIFO
        default: S_IFSOCK
        }
      let device = type.isDevice ? HostDirectory.deviceNumber(DeviceNumber(inodeSize: inode.size)) : 0
      guard HostDirectory.makeNode(parent, name, mode: kind | 0o600, device: device) == 0 else {
        if errno == EPERM && type.isDevice {
          sink.warning(.deviceSkipped, "skipped \(type): creating device nodes needs root", offset: entry.offset, path: path)
        } else {
          hostFailure("cannot create \(type)", path: path, offset: entry.offset)
        }
        return nil
      }
      counts.specialFiles += 1
    }
    if preserveOwners && HostDirectory.setOwner(parent, name, uid: UInt32(inode.uid), gid: UInt32(inode.gid)) != 0 {
      hostFailure("cannot set owner", path: path, offset: entry.offset)
    }
    if type != .symlink && HostDirectory.setMode(parent, name, permissions) != 0 {
      hostFailure("cannot set mode", path: path, offset: entry.offset)
    }
    _ = HostDirectory.zeroTimes(parent, name)
    return nil
  }

  // MARK: - File pass

  mutating func writeFiles() {
    let jobs = files
    files.removeAll()
    let image = image
    let preserveOwners = preserveOwners
    let threads = max(1, options.threads)
    let results = Mutex<[(Int, [Diagnostic], Int)]>([])
    let buffers = (0..<threads).map { _ in WriteBuffer() }
    let progress = options.progress
    // Largest first, so that no thread is left with a big file while the others have finished; the
    // reports are put back in walk order below.
    let order = jobs.indices.sorted { (jobs[$0].node.inode.size, $1) > (jobs[$1].node.inode.size, $0) }
    Threads.parallelFor(count: jobs.count, threads: threads, name: "cramfs-extract") { worker, position in
      let index = order[position]
      let (problems, written) = FileWriter.write(jobs[index], image: image, preserveOwners: preserveOwners, buffer: buffers[worker])
      if let progress {
        progress.addBytes(Int(jobs[index].node.inode.size))
        progress.addEntries()
      }
      if !problems.isEmpty || written > 0 {
        results.withLock { $0.append((index, problems, written)) }
      }
    }
    let collected = results.withLock { $0 }.sorted { $0.0 < $1.0 }
    for (_, problems, written) in collected {
      counts.bytesWritten += written
      for problem in problems { sink.add(problem) }
    }
  }

  // MARK: - Directory attributes

  /// Applies directory modes, owners and times, children before parents, then closes them.
  mutating func finishDirectories() {
    for index in directories.indices.reversed() where !directories[index].finished { finish(index) }
  }

  private mutating func finish(_ index: Int) {
    let record = directories[index]
    if record.applyAttributes {
      // No swift-system wrappers for these: the raw descriptor, errno for the message.
      if preserveOwners && fchown(record.descriptor.rawValue, uid_t(record.inode.uid), gid_t(record.inode.gid)) != 0 {
        hostFailure("cannot set owner", path: record.path, offset: record.inode.byteOffset)
      }
      if fchmod(record.descriptor.rawValue, mode_t(record.inode.permissions)) != 0 {
        hostFailure("cannot set mode", path: record.path, offset: record.inode.byteOffset)
      }
      _ = HostDirectory.zeroTimes(record.descriptor)
    }
    try? record.descriptor.close()
    directories[index].finished = true
    directories[index].path = ""
    openDirectories -= 1
  }

  func report() -> ExtractReport {
    var report = counts
    report.diagnostics = sink.diagnostics
    report.omittedCount = sink.omittedCount
    report.errorCount = sink.errorCount
    report.warningCount = sink.warningCount
    return report
  }
}
