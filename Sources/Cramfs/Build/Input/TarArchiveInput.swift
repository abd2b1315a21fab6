#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

import CLibarchive

/// A tar archive (ustar, GNU or PAX; plain, gzip, bzip2, xz, zstd...), read once as a stream.
///
///     try ImageBuilder.build(from: TarArchiveInput(path: "rootfs.tar.zst"), to: "rootfs.cramfs", options: options)
///
/// Owners and device numbers come from the archive, so no root is needed. File data goes to a temporary
/// file beside the image (unlinked at once), so memory does not grow with the archive. Hard links share
/// their target's data; missing parent directories are implied (0755, owner 0); a leading `/` or `./` is
/// dropped. A path given twice: the later entry wins, with a warning. A symlink is stored as given, even
/// one that points outside the tree: its target is only a string in the image.
public struct TarArchiveInput: ImageInput {
  /// The archive's path; nil reads standard input.
  public var path: String?

  /// The archive at `path`, or standard input when it is nil.
  public init(path: String?) { self.path = path }

  /// - Throws: `CramfsError` naming the archive and the entry for a `..` component, an entry type the
  ///   format cannot hold, a file of 16 MiB or more, a name over 252 bytes, a hard link to an entry not
  ///   before it, or a truncated or corrupt archive.
  public func readTree(options: BuildOptions, scratchDirectory: String) throws(CramfsError)
    -> SourceTree
  {
    let reader = try ArchiveReader(path: path)
    let spill = try SpillFile(directory: scratchDirectory)
    var assembler = TreeAssembler(options: options)
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
    defer { buffer.deallocate() }
    var previous: String?
    while true {
      let header: OpaquePointer?
      do {
        header = try reader.nextEntry()
      } catch {
        let place = previous.map { "after \($0)" } ?? "at the start"
        throw CramfsError(error.code, "\(reader.name): \(place): \(error.message)", path: previous)
      }
      guard let header else { break }
      // The bytes as stored; a PAX UTF-8 name the C locale cannot convert comes back through the UTF-8 form.
      let entryPath =
        Self.bytes(archive_entry_pathname(header)) ?? Self.bytes(archive_entry_pathname_utf8(header)) ?? []
      // Long paths are cut in messages, so an error stays one readable line.
      let display =
        entryPath.count > 300
        ? String(decoding: entryPath.prefix(120), as: UTF8.self) + "...(\(entryPath.count) bytes)"
        : String(decoding: entryPath, as: UTF8.self)
      previous = display
      do {
        try assembler.add(
          try Self.entry(header, path: entryPath, reader: reader, spill: spill, buffer: buffer, assembler: assembler))
        options.progress?.addEntries()
        options.progress?.addBytes(max(0, Int(archive_entry_size(header))))
      } catch {
        // Every message names the archive and the entry once.
        throw CramfsError(error.code, "\(reader.name): \(display): \(error.message)", path: display)
      }
    }
    return assembler.finish()
  }

  /// The entry `header` describes, with its data (if any) copied to `spill`.
  private static func entry(
    _ header: OpaquePointer, path: [UInt8], reader: ArchiveReader, spill: SpillFile,
    buffer: UnsafeMutableRawBufferPointer, assembler: TreeAssembler
  ) throws(CramfsError) -> InputEntry {
    if let linkPath = bytes(archive_entry_hardlink(header)) ?? bytes(archive_entry_hardlink_utf8(header)) {
      return try hardLink(path: path, to: linkPath, assembler: assembler)
    }
    let mode = UInt32(archive_entry_filetype(header))
    guard let type = FileType(mode: UInt16(truncatingIfNeeded: mode)), mode <= 0xFFFF else {
      throw CramfsError(
        .unsupportedFeature,
        "entry type \(mode == 0 ? "unknown to libarchive" : "0o" + String(mode, radix: 8)) cannot be stored in cramfs")
    }
    let uid = archive_entry_uid(header)
    let gid = archive_entry_gid(header)
    guard (0...Int64(UInt32.max)).contains(uid), (0...Int64(UInt32.max)).contains(gid) else {
      throw CramfsError(.invalidArgument, "owner \(uid):\(gid) is out of range")
    }
    var entry = InputEntry(
      path: path, type: type, permissions: UInt16(archive_entry_perm(header) & 0o7777),
      uid: UInt32(uid), gid: UInt32(gid))
    switch type {
    case .regular:
      let size = archive_entry_size(header)
      guard size >= 0 else { throw CramfsError(.corrupted, "negative size \(size)") }
      // Checked before reading, so a header claiming a huge size costs nothing.
      try SourceTree.checkFileSize(Int(size), path: String(decoding: path, as: UTF8.self))
      entry.size = Int(size)
      if size > 0 {
        entry.content = try spillData(size: Int(size), reader: reader, spill: spill, buffer: buffer)
      }
    case .symlink:
      entry.linkTarget = bytes(archive_entry_symlink(header)) ?? bytes(archive_entry_symlink_utf8(header)) ?? []
    case .characterDevice, .blockDevice:
      entry.device = DeviceNumber(
        major: UInt32(clamping: archive_entry_rdevmajor(header)),
        minor: UInt32(clamping: archive_entry_rdevminor(header)))
    case .directory, .fifo, .socket:
      break
    }
    return entry
  }

  /// A hard link: the same entry as its target, which must come before it in the archive.
  private static func hardLink(path: [UInt8], to target: [UInt8], assembler: TreeAssembler)
    throws(CramfsError) -> InputEntry
  {
    let targetText = String(decoding: target, as: UTF8.self)
    let found: SourceEntry?
    do {
      found = try assembler.lookup(target)
    } catch {
      throw CramfsError(error.code, "hard link target \(targetText): \(error.message)")
    }
    guard let original = found else {
      throw CramfsError(.notFound, "hard link to \(targetText), which is not in the archive before it")
    }
    guard original.type != .directory else {
      throw CramfsError(.wrongType, "hard link to the directory \(targetText)")
    }
    return InputEntry(
      path: path, type: original.type, permissions: original.mode & 0o7777, uid: original.uid,
      gid: original.gid, device: original.device, linkTarget: original.linkTarget,
      content: original.content, size: original.dataSize)
  }

  /// Copies the current entry's `size` bytes to `spill`.
  private static func spillData(
    size: Int, reader: ArchiveReader, spill: SpillFile, buffer: UnsafeMutableRawBufferPointer
  ) throws(CramfsError) -> SpillContent {
    let start = spill.length
    var done = 0
    while done < size {
      let count = try reader.readData(into: buffer)
      guard count > 0 else {
        throw CramfsError(.corrupted, "archive ends inside the file (\(done) of \(size) bytes)")
      }
      let kept = min(count, size - done)
      try spill.append(UnsafeRawBufferPointer(rebasing: buffer[0..<kept]))
      done += kept
    }
    return SpillContent(file: spill, offset: start, size: size)
  }

  private static func bytes(_ text: UnsafePointer<CChar>?) -> [UInt8]? {
    guard let text else { return nil }
    return Array(UnsafeRawBufferPointer(start: text, count: strlen(text)))
  }
}
