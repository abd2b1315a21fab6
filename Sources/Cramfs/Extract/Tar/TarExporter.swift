#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import struct SystemPackage.FileDescriptor

/// Writes an image's tree as a PAX archive (`cramfs extract --tar`), without root and without touching
/// the file system: numeric owners, modes with setuid/setgid/sticky, device nodes, fifos, symlinks, in
/// image order (each directory before its entries, the root first as `./`), every time `0`, so the same
/// image gives the same bytes on every run.
///
///     let image = try CramfsImage(path: "rootfs.cramfs")
///     try TarExporter.export(image, to: "rootfs.tar")
///
/// Regular files that share their data (the builder stores identical files once, and the kernel then shows
/// them with one inode number) and have the same mode and owner are written as hard links to the first.
/// `cramfs make` of the archive, with the options the image was made with, gives the image back byte for
/// byte. Sockets cannot be stored in a tar archive: they are left out and counted in the report.
public enum TarExporter {
  /// What an export wrote.
  public struct Report: Sendable {
    /// Entries written, the root (`./`) included.
    public var entries = 0
    /// Files written as hard links to an earlier file with the same data, mode and owner.
    public var hardLinks = 0
    /// Sockets left out (tar has no type for them).
    public var skippedSockets: [String] = []
  }

  /// Writes `image` as a PAX archive to `destination`, or to standard output when it is nil.
  ///
  /// A file destination is written through a temporary file beside it, renamed into place when complete,
  /// so no partial archive is left on error.
  ///
  /// - Parameters:
  ///   - image: the image to archive.
  ///   - destination: the archive's path, or nil for standard output.
  ///   - progress: advanced by the entries and file bytes written; its totals are set first, from a
  ///     walk of the directories. Nil counts nothing.
  /// - Throws: `CramfsError` naming the entry that cannot be read (a damaged image), or the I/O failure.
  @discardableResult
  public static func export(_ image: CramfsImage, to destination: String?, progress: ProgressCounter? = nil)
    throws(CramfsError) -> Report
  {
    try image.requireKnownBlockSize()
    if let progress { countTotals(of: image, into: progress) }
    guard let destination else {
      let writer = try ArchiveWriter(descriptor: .standardOutput, name: "standard output")
      let report = try write(image, to: writer, progress: progress)
      try writer.close()
      return report
    }
    let output = try TarOutputFile(destination: destination)
    do {
      let writer = try ArchiveWriter(descriptor: output.descriptor, name: destination)
      let report = try write(image, to: writer, progress: progress)
      try writer.close()
      try output.commit()
      return report
    } catch {
      output.discard()
      throw error
    }
  }

  /// The first file written with a given data offset, for hard links.
  private struct FirstFile {
    var path: [UInt8]
    var inode: Inode
  }

  /// Entries and regular-file bytes of `image`, for the progress totals (metadata only: a damaged part
  /// stops the count, and the export reports it).
  private static func countTotals(of image: CramfsImage, into progress: ProgressCounter) {
    var entries = 0
    var bytes = 0
    try? image.walkInImageOrder { (_, node) throws(CramfsError) in
      entries += 1
      if node.type == .regular { bytes += Int(node.inode.size) }
    }
    progress.addTotals(bytes: bytes, entries: entries)
  }

  private static func write(_ image: CramfsImage, to writer: ArchiveWriter, progress: ProgressCounter?)
    throws(CramfsError) -> Report
  {
    var report = Report()
    var firstFiles: [Int: FirstFile] = [:]
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
    defer { buffer.deallocate() }
    try image.walkInImageOrder { (path, node) throws(CramfsError) in
      try writeEntry(
        node, path: path.isEmpty ? Array("./".utf8) : path, image: image, writer: writer, buffer: buffer,
        firstFiles: &firstFiles, report: &report)
      progress?.addEntries()
      // A hard link writes no data, but its bytes count as done (the totals count every file).
      if let progress, node.type == .regular { progress.addBytes(Int(node.inode.size)) }
    }
    return report
  }

  private static func writeEntry(
    _ node: Node, path: [UInt8], image: CramfsImage, writer: ArchiveWriter,
    buffer: UnsafeMutableRawBufferPointer, firstFiles: inout [Int: FirstFile], report: inout Report
  ) throws(CramfsError) {
    let display = String(decoding: path, as: UTF8.self)
    guard let type = node.type else {
      throw CramfsError(
        .corrupted, "\(display): unknown file type (mode 0o\(String(node.inode.mode, radix: 8)))",
        offset: node.entryOffset, path: display)
    }
    if type == .socket {
      report.skippedSockets.append(display)
      return
    }
    var header = ArchiveWriter.Header(
      path: path, type: type, permissions: node.inode.mode & 0o7777, uid: UInt32(node.inode.uid),
      gid: UInt32(node.inode.gid))
    do throws(CramfsError) {
      switch type {
      case .regular:
        header.size = Int(node.inode.size)
        if node.inode.size > 0 {
          let offset = node.inode.byteOffset
          if let first = firstFiles[offset] {
            // Same mode, owner and size too: otherwise (images of mkfs.cramfs, which shares data across
            // them) the file is written in full, so that nothing of its own is lost.
            let same = first.inode.mode == node.inode.mode && first.inode.uid == node.inode.uid
              && first.inode.gid == node.inode.gid && first.inode.size == node.inode.size
            if same {
              header.hardLinkTarget = first.path
              header.size = 0
              report.hardLinks += 1
            }
          } else {
            firstFiles[offset] = FirstFile(path: path, inode: node.inode)
          }
        }
      case .symlink:
        header.linkTarget = try image.readlink(node)
      case .characterDevice, .blockDevice:
        // The inverse of the builder's encoding, so `cramfs make` of the archive stores the same 24 bits.
        header.device = DeviceNumber(storedSize: node.inode.size)
      case .directory, .fifo, .socket:
        break
      }
      try writer.writeHeader(header)
      var offset = 0
      while offset < header.size {
        let count = try image.read(node, offset: offset, into: buffer)
        guard count > 0 else { throw CramfsError(.corrupted, "data ends at \(offset) bytes") }
        try writer.writeData(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        offset += count
      }
    } catch {
      let message = error.message.hasPrefix(display + ":") ? error.message : "\(display): \(error.message)"
      throw CramfsError(error.code, message, offset: error.offset, path: display)
    }
    report.entries += 1
  }
}

/// The archive file: created beside the destination, renamed over it when complete.
private final class TarOutputFile {
  let descriptor: FileDescriptor
  let path: String
  let destination: String
  /// Closed by `commit` (even if that failed): `discard` must not close a number the process may reuse.
  private var isClosed = false

  init(destination: String) throws(CramfsError) {
    self.destination = destination
    let slash = destination.lastIndex(of: "/")
    let directory = slash.map { String(destination[...$0]) } ?? ""
    let base = slash.map { String(destination[destination.index(after: $0)...]) } ?? destination
    var template = Array((directory + "." + base + ".tmp-XXXXXX").utf8CString)
    // swift-system has no mkstemp: the raw descriptor is wrapped at once.
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    guard fd >= 0 else {
      throw SystemCall.error("cannot create a temporary file next to \(destination)", path: destination)
    }
    _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    descriptor = FileDescriptor(rawValue: fd)
    path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// Gives the file the usual permissions (0666 minus the umask) and renames it into place.
  func commit() throws(CramfsError) {
    let mask = umask(0)
    umask(mask)
    var failure: Int32?
    if fchmod(descriptor.rawValue, 0o666 & ~mask) != 0 { failure = errno }
    isClosed = true
    do {
      try descriptor.close()
    } catch {
      failure = failure ?? SystemCall.code(of: error)
    }
    if let failure {
      unlink(path)
      throw SystemCall.error("cannot finish \(path)", errno: failure, path: path)
    }
    guard rename(path, destination) == 0 else {
      let reason = SystemCall.text()
      unlink(path)
      throw CramfsError(.io, "cannot rename \(path) to \(destination): \(reason)", path: destination)
    }
  }

  func discard() {
    if !isClosed { try? descriptor.close() }
    unlink(path)
  }
}
