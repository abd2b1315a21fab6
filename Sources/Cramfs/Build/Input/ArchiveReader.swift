import CLibarchive
import struct SystemPackage.FileDescriptor

/// A tar stream read through libarchive: ustar, GNU and PAX, plain or compressed (gzip, bzip2, xz, lzma,
/// lzip, zstd, lz4, compress), recognized by content. Only built-in decoders are enabled, so reading never
/// starts an external program.
final class ArchiveReader {
  private let archive: OpaquePointer
  /// The archive's name for messages (`-` for standard input).
  let name: String

  /// Opens `path`, or standard input when it is nil.
  init(path: String?) throws(CramfsError) {
    name = path ?? "-"
    guard let archive = archive_read_new() else {
      throw CramfsError(.io, "\(name): libarchive cannot allocate a reader")
    }
    self.archive = archive
    _ = archive_read_support_filter_gzip(archive)
    _ = archive_read_support_filter_bzip2(archive)
    _ = archive_read_support_filter_xz(archive)
    _ = archive_read_support_filter_lzma(archive)
    _ = archive_read_support_filter_lzip(archive)
    _ = archive_read_support_filter_zstd(archive)
    _ = archive_read_support_filter_lz4(archive)
    _ = archive_read_support_filter_compress(archive)
    _ = archive_read_support_format_tar(archive)
    let status: Int32
    if let path {
      status = archive_read_open_filename(archive, path, 1 << 16)
    } else {
      status = archive_read_open_fd(archive, FileDescriptor.standardInput.rawValue, 1 << 16)
    }
    guard status == ARCHIVE_OK else {
      // Opening reads the start of the stream to recognize the compression and the tar format.
      let reason = errorText()
      throw CramfsError(.corrupted, "\(name): not a readable tar archive: \(reason)", path: name)
    }
  }

  deinit { archive_read_free(archive) }

  /// The next entry's header, or nil at the end of the archive.
  func nextEntry() throws(CramfsError) -> OpaquePointer? {
    var entry: OpaquePointer?
    let status = archive_read_next_header(archive, &entry)
    switch status {
    case ARCHIVE_EOF: return nil
    case ARCHIVE_OK, ARCHIVE_WARN:
      guard let entry else { throw CramfsError(.corrupted, "\(name): no entry header") }
      return entry
    default:
      throw CramfsError(.corrupted, errorText())
    }
  }

  /// Reads up to `buffer.count` bytes of the current entry's data; 0 at its end.
  func readData(into buffer: UnsafeMutableRawBufferPointer) throws(CramfsError) -> Int {
    let count = archive_read_data(archive, buffer.baseAddress, buffer.count)
    guard count >= 0 else { throw CramfsError(.corrupted, errorText()) }
    return count
  }

  /// libarchive's last error on one line.
  func errorText() -> String {
    guard let text = archive_error_string(archive) else { return "unreadable archive" }
    return String(cString: text).split(whereSeparator: \.isNewline).joined(separator: " ")
  }
}
