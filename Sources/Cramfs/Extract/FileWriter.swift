#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import struct SystemPackage.FileDescriptor
import struct SystemPackage.Errno

/// A growable buffer owned by one worker thread.
final class WriteBuffer: @unchecked Sendable {
  private(set) var bytes = UnsafeMutableRawBufferPointer(start: nil, count: 0)

  /// Ensures room for `count` bytes (contents are not kept).
  func reserve(_ count: Int) -> UnsafeMutableRawBufferPointer {
    if bytes.count < count {
      bytes.deallocate()
      bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1 << 16), alignment: 64)
    }
    return bytes
  }

  deinit { bytes.deallocate() }
}

/// Writes one regular file: creates it (never following a symlink), fills it block by block, then sets
/// its owner and mode (owner first, since `chown` clears setuid bits) and zero times. Blocks that read as
/// zeros (holes in the image, or zeros stored compressed) are left as holes: the file is sparse.
enum FileWriter {
  /// Writes `bytes` to the new, empty file `fd`, skipping all-zero blocks (runs of the others go in one
  /// `pwrite`), and sets its size, so that the skipped blocks are holes.
  ///
  /// - Returns: the error of the write or truncate that failed, or nil.
  static func writeSparse(_ fd: FileDescriptor, _ bytes: UnsafeRawBufferPointer, blockSize: Int) -> Errno? {
    var runStart: Int?
    var offset = 0
    var dataEnd = 0
    while offset <= bytes.count {
      let end = min(offset + blockSize, bytes.count)
      let isData = offset < bytes.count && !isAllZero(UnsafeRawBufferPointer(rebasing: bytes[offset..<end]))
      if isData {
        if runStart == nil { runStart = offset }
      } else if let start = runStart {
        // Retries short writes and EINTR; throws only on failure, once per file at most.
        do {
          try fd.writeAll(toAbsoluteOffset: Int64(start), UnsafeRawBufferPointer(rebasing: bytes[start..<offset]))
        } catch {
          return Errno(rawValue: SystemCall.code(of: error))
        }
        dataEnd = offset
        runStart = nil
      }
      if offset == bytes.count { break }
      offset = end
    }
    // Only a file ending in a hole needs its size set (a truncate costs as much as a small write).
    guard dataEnd != bytes.count else { return nil }
    do {
      try fd.resize(to: Int64(bytes.count))
    } catch {
      return Errno(rawValue: SystemCall.code(of: error))
    }
    return nil
  }

  static func write(_ job: Extraction.FileJob, image: CramfsImage, preserveOwners: Bool, buffer: WriteBuffer) -> ([Diagnostic], Int) {
    var problems: [Diagnostic] = []
    let inode = job.node.inode
    do {
      try image.requireKnownBlockSize(for: job.node)
    } catch {
      // Every block would be a guess: one line for the file, and no file rather than a wrong one.
      return ([Diagnostic(.error, .ambiguousBlockSize, "not extracted: \(error.message)", offset: job.node.entryOffset, path: job.path)], 0)
    }
    let descriptor: FileDescriptor
    switch HostDirectory.createFile(job.parent, job.name) {
    case .success(let created):
      descriptor = created
    case .failure(let code):
      let exists = code == .fileExists
      let message = exists ? "refused: something named so already exists" : "cannot create file: \(SystemCall.text(code.rawValue))"
      return ([Diagnostic(.error, exists ? .unsafePath : .ioError, message, offset: job.node.entryOffset, path: job.path)], 0)
    }
    defer { try? descriptor.close() }
    let size = Int(inode.size)
    var written = 0
    if size > 0 {
      let blockSize = image.blockSize
      let count = (size + blockSize - 1) / blockSize
      let out = buffer.reserve(count * blockSize)
      for index in 0..<count {
        let slot = UnsafeMutableRawBufferPointer(rebasing: out[(index * blockSize)...])
        do {
          _ = try image.readBlock(job.node, block: index, into: slot)
        } catch {
          problems.append(Diagnostic(
            .error, .badBlock, "block \(index) cannot be read, written as zeros: \(error.message)",
            offset: error.offset ?? inode.byteOffset + 4 * index, path: job.path))
          slot.baseAddress!.initializeMemory(as: UInt8.self, repeating: 0, count: min(blockSize, size - index * blockSize))
        }
      }
      if let failure = writeSparse(descriptor, UnsafeRawBufferPointer(rebasing: out[0..<size]), blockSize: blockSize) {
        problems.append(Diagnostic(.error, .ioError, "write failed: \(SystemCall.text(failure.rawValue))", offset: job.node.entryOffset, path: job.path))
        return (problems, 0)
      }
      written = size
    }
    // No swift-system wrappers for these: the raw descriptor, errno for the message.
    if preserveOwners && fchown(descriptor.rawValue, uid_t(inode.uid), gid_t(inode.gid)) != 0 {
      problems.append(Diagnostic(.error, .ioError, "cannot set owner: \(SystemCall.text())", offset: job.node.entryOffset, path: job.path))
    }
    if fchmod(descriptor.rawValue, mode_t(inode.permissions)) != 0 {
      problems.append(Diagnostic(.error, .ioError, "cannot set mode: \(SystemCall.text())", offset: job.node.entryOffset, path: job.path))
    }
    _ = HostDirectory.zeroTimes(descriptor)
    return (problems, written)
  }
}
