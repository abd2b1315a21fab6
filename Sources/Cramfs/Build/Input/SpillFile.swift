#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import struct SystemPackage.FileDescriptor

/// A temporary file that keeps the data of a streamed input (a tar archive read once) until the image
/// is written, so memory does not grow with the input.
///
/// It is created beside the image and unlinked at once: it lives while its descriptor is open and is
/// never left behind, whatever happens to the process.
final class SpillFile: @unchecked Sendable {
  let descriptor: FileDescriptor
  /// Written only while the input is read (one thread), then only read.
  private(set) var length = 0

  init(directory: String) throws(CramfsError) {
    let base = directory.isEmpty ? "." : directory
    var template = Array((base + "/.cramfs-spill-XXXXXX").utf8CString)
    // swift-system has no mkstemp: the raw descriptor is wrapped at once.
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    guard fd >= 0 else {
      throw SystemCall.error("cannot create a temporary file in \(base)", path: base)
    }
    template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
    _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    descriptor = FileDescriptor(rawValue: fd)
  }

  deinit { try? descriptor.close() }

  /// Appends `bytes`; returns the offset they were written at.
  @discardableResult
  func append(_ bytes: UnsafeRawBufferPointer) throws(CramfsError) -> Int {
    let start = length
    do {
      // Retries short writes and EINTR.
      try descriptor.writeAll(toAbsoluteOffset: Int64(start), bytes)
    } catch {
      throw SystemCall.error("cannot write the temporary file", thrown: error)
    }
    length += bytes.count
    return start
  }

  /// Fills `buffer` from `offset`.
  func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws(CramfsError) {
    var done = 0
    while done < buffer.count {
      let count: Int
      do {
        count = try descriptor.read(
          fromAbsoluteOffset: Int64(offset + done), into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]))
      } catch {
        throw SystemCall.error("cannot read the temporary file", thrown: error)
      }
      guard count > 0 else { throw CramfsError(.io, "the temporary file is short") }
      done += count
    }
  }
}

/// A file's bytes kept in a ``SpillFile``; hard links share one.
struct SpillContent: EntryContent, ContentReader {
  let file: SpillFile
  let offset: Int
  let size: Int

  func open() throws(CramfsError) -> any ContentReader { self }

  func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws(CramfsError) {
    precondition(offset >= 0 && offset + buffer.count <= size, "read past the end of spilled data")
    try file.read(at: self.offset + offset, into: buffer)
  }
}
