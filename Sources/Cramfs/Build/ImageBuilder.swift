#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Builds cramfs images from host directory trees.
///
/// The pipeline: scan (``SourceTree``, `lstat`) → apply the device table, if any → deduplicate (same type, mode and owner only) →
/// choose XIP blocks (`XIPSelector`) → plan (`ImageLayout`, pure) → compress blocks on all cores → write in order to a temporary file →
/// rename into place.
///
///     let report = try ImageBuilder.build(from: "rootfs", to: "rootfs.cramfs", options: BuildOptions())
///     print(report.imageSize, report.warnings)
///
/// With `options.deflate = .zlib` and level 6, the image is byte for byte what util-linux `mkfs.cramfs` writes
/// for the same tree and the same `-N`, `-p`, `-b`, `-e`, `-n`, `-i`, `-z`, unless the tree has identical
/// contents in entries of different type, mode or owner (which `mkfs.cramfs` wrongly merges).
public enum ImageBuilder {
  /// Builds the image of `directory` at `image`.
  ///
  /// - Throws: `CramfsError` naming the path for anything that would lose data (see ``SourceTree/scan(_:options:)``),
  ///   for data or directories that would start at or past 256 MiB, for unreadable files, and for warnings when
  ///   ``BuildOptions/warningsAreErrors`` is set. Nothing is left at `image` on error.
  @discardableResult
  public static func build(from directory: String, to image: String, options: BuildOptions)
    throws(CramfsError)
    -> BuildReport
  {
    try build(from: DirectoryInput(path: directory), to: image, options: options)
  }

  /// Builds the image of `input` (a directory, a tar archive...) at `image`.
  ///
  ///     try ImageBuilder.build(from: TarArchiveInput(path: "rootfs.tar.gz"), to: "rootfs.cramfs", options: options)
  ///
  /// - Throws: what `input` throws for entries the format cannot hold (naming the entry), and
  ///   `CramfsError` for a limit of the format, a file that changed or cannot be read, or an image that
  ///   cannot be written. Nothing is left at `image` on error.
  @discardableResult
  public static func build(from input: any ImageInput, to image: String, options: BuildOptions)
    throws(CramfsError)
    -> BuildReport
  {
    try options.validate()
    try checkDestination(image)
    let directory = image.lastIndex(of: "/").map { String(image[..<$0]) } ?? "."
    var tree = try input.readTree(options: options, scratchDirectory: directory.isEmpty ? "/" : directory)
    tree.forceOwners(uid: options.forcedUID, gid: options.forcedGID)
    if let table = options.deviceTable { try tree.apply(table) }
    var report = BuildReport()
    report.warnings = tree.warnings + XIPSelector.unmatchedPatterns(tree: tree, options: options)
    var insertedFileSize = 0
    if let inserted = options.insertedFile {
      var info = stat()
      guard withCString(Array(inserted.utf8), { stat($0, &info) }) == 0 else {
        throw SystemCall.error("cannot stat \(inserted)", path: inserted)
      }
      insertedFileSize = Int(info.st_size)
      if insertedFileSize == 0 {
        report.warnings.append(
          BuildWarning(kind: .insertedFileEmpty, path: inserted, message: "inserted file is empty: nothing is inserted"))
      }
    }
    let duplicates = try Deduplicator.findDuplicates(in: tree, threads: options.jobs)
    let xipRequests = try XIPSelector.select(
      tree: tree, duplicateOf: duplicates, options: options)
    report.warnings += XIPSelector.unmatchedELF(tree: tree, requests: xipRequests, options: options)
    if options.warningsAreErrors, let first = report.warnings.first {
      throw CramfsError(
        .warningsAreErrors,
        "\(first.description) (and \(report.warnings.count - 1) more warnings, treated as errors)",
        path: first.path)
    }
    let layout = try ImageLayout.plan(
      tree: tree, duplicateOf: duplicates, options: options, insertedFileSize: insertedFileSize,
      xipRequests: xipRequests)

    for (index, entry) in tree.entries.enumerated() where index > 0 {
      report.entries += 1
      switch entry.type {
      case .regular: report.regularFiles += 1
      case .directory: report.directories += 1
      case .symlink: report.symlinks += 1
      default: report.specialFiles += 1
      }
      if duplicates[index] != nil { report.deduplicatedFiles += 1 }
    }
    report.blocks = layout.blockCount
    // What reading the input counted is dropped: from here the data written is counted against its total.
    options.progress?.restart(
      totalBytes: layout.dataItems.reduce(0) { $0 + $1.size }, totalEntries: layout.dataItems.count)

    let writer = ImageWriter(
      tree: tree, layout: layout, options: options, insertedFileSize: insertedFileSize)
    try writer.write(to: image, report: &report)
    return report
  }

  /// The image replaces the destination by a rename, so only a regular file (or nothing) may be there:
  /// renaming over a device node would silently replace the node instead of writing to the device.
  static func checkDestination(_ image: String) throws(CramfsError) {
    var info = stat()
    guard withCString(Array(image.utf8), { lstat($0, &info) }) == 0 else { return }
    let type = info.st_mode & S_IFMT
    guard type == S_IFREG || type == S_IFLNK else {
      let what =
        FileType(mode: UInt16(truncatingIfNeeded: info.st_mode))?.description ?? "special file"
      throw CramfsError(
        .invalidArgument,
        "\(image) is a \(what); write the image to a regular file (and copy it to a device with dd)",
        path: image)
    }
  }
}
