import CLibarchive

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import struct SystemPackage.FileDescriptor

/// A PAX archive written through libarchive to a file descriptor.
final class ArchiveWriter {
  private let archive: OpaquePointer
  private let entry: OpaquePointer
  /// The destination's name for messages.
  let name: String
  private var isClosed = false
  /// The thread's locale before this writer switched it to UTF-8, restored in `deinit`.
  private let previousLocale: locale_t?
  private let utf8Locale: locale_t?

  init(descriptor: FileDescriptor, name: String) throws(CramfsError) {
    self.name = name
    // libarchive converts names through the locale's character set; in the C locale no name with a
    // byte over 0x7F converts. UTF-8 for this thread only (the process's locale is left alone), so UTF-8
    // names are written as PAX requires; other names go out as bytes with `hdrcharset=BINARY`.
    utf8Locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", nil)
    previousLocale = utf8Locale.map { uselocale($0) }
    guard let archive = archive_write_new(), let entry = archive_entry_new() else {
      if let previousLocale { uselocale(previousLocale) }
      if let utf8Locale { freelocale(utf8Locale) }
      throw CramfsError(.io, "\(name): libarchive cannot allocate a writer")
    }
    self.archive = archive
    self.entry = entry
    // The last block is not padded to 10 KiB, whatever the destination (libarchive pads for pipes
    // but not for regular files), so a file and standard output get the same bytes.
    guard archive_write_set_format_pax(archive) == ARCHIVE_OK,
      archive_write_set_bytes_in_last_block(archive, 1) == ARCHIVE_OK,
      archive_write_open_fd(archive, descriptor.rawValue) == ARCHIVE_OK
    else { throw CramfsError(.io, "\(name): \(errorText())") }
  }

  deinit {
    archive_entry_free(entry)
    archive_write_free(archive)
    if let previousLocale { uselocale(previousLocale) }
    if let utf8Locale { freelocale(utf8Locale) }
  }

  /// One entry's header; file data follows with ``writeData(_:)``.
  struct Header {
    var path: [UInt8]
    var type: FileType
    var permissions: UInt16
    var uid: UInt32
    var gid: UInt32
    var size: Int = 0
    var device: DeviceNumber?
    var linkTarget: [UInt8]?
    /// A hard link to this earlier path (no data follows).
    var hardLinkTarget: [UInt8]?
  }

  func writeHeader(_ header: Header) throws(CramfsError) {
    archive_entry_clear(entry)
    Self.withCString(header.path) { archive_entry_copy_pathname(entry, $0) }
    archive_entry_set_filetype(entry, UInt32(header.type.rawValue))
    archive_entry_set_perm(entry, UInt32(header.permissions & 0o7777))
    archive_entry_set_uid(entry, Int64(header.uid))
    archive_entry_set_gid(entry, Int64(header.gid))
    archive_entry_set_size(entry, Int64(header.size))
    // Deterministic: the image has no times, so every entry gets the epoch.
    archive_entry_set_mtime(entry, 0, 0)
    if let device = header.device {
      archive_entry_set_rdevmajor(entry, dev_t(device.major))
      archive_entry_set_rdevminor(entry, dev_t(device.minor))
    }
    if let target = header.linkTarget {
      Self.withCString(target) { archive_entry_copy_symlink(entry, $0) }
    }
    if let target = header.hardLinkTarget {
      Self.withCString(target) { archive_entry_copy_hardlink(entry, $0) }
    }
    // A warning is a name that is not UTF-8, written as bytes (`hdrcharset=BINARY`): the entry is there.
    let status = archive_write_header(archive, entry)
    guard status == ARCHIVE_OK || status == ARCHIVE_WARN else {
      throw CramfsError(
        .io, "\(String(decoding: header.path, as: UTF8.self)): \(errorText())",
        path: String(decoding: header.path, as: UTF8.self))
    }
  }

  func writeData(_ bytes: UnsafeRawBufferPointer) throws(CramfsError) {
    var done = 0
    while done < bytes.count {
      let count = archive_write_data(archive, bytes.baseAddress! + done, bytes.count - done)
      guard count > 0 else { throw CramfsError(.io, "\(name): \(errorText())") }
      done += count
    }
  }

  /// Writes the end-of-archive blocks and flushes.
  func close() throws(CramfsError) {
    guard !isClosed else { return }
    isClosed = true
    guard archive_write_close(archive) == ARCHIVE_OK else {
      throw CramfsError(.io, "\(name): \(errorText())")
    }
  }

  private func errorText() -> String {
    guard let text = archive_error_string(archive) else { return "libarchive failed" }
    return String(cString: text).split(whereSeparator: \.isNewline).joined(separator: " ")
  }

  private static func withCString(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) -> Void) {
    var terminated = bytes
    terminated.append(0)
    terminated.withUnsafeBufferPointer { buffer in
      buffer.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) }
    }
  }
}
