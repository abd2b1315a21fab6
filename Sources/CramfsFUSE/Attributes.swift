import Cramfs

#if canImport(Glibc)
  import Glibc
#endif
import struct SystemPackage.FileDescriptor

extension Stat {
  /// A `struct stat` with these attributes: the kernel's inode number, one link, times 0, the image's
  /// block size as the preferred I/O size.
  func systemStat(blockSize: Int) -> stat {
    var result = stat()
    result.st_ino = UInt(truncatingIfNeeded: inodeNumber)
    result.st_mode = mode
    result.st_nlink = 1
    result.st_uid = uid
    result.st_gid = gid
    result.st_size = Int(truncatingIfNeeded: size)
    result.st_blocks = Int(truncatingIfNeeded: blocks512)
    result.st_blksize = blockSize
    if let device {
      result.st_rdev = UInt(truncatingIfNeeded: device.linuxDev)
    }
    return result
  }
}

extension CramfsError {
  /// The errno a FUSE reply carries for this error.
  var errnoValue: Int32 {
    switch code {
    case .notFound: ENOENT
    case .wrongType: EINVAL
    case .invalidArgument: EINVAL
    default: EIO
    }
  }
}

/// Writes `cramfs: <kind>: <message>` to standard error in one write (threads do not interleave lines).
func writeLogLine(_ kind: String, _ message: String) {
  let flat = message.split(whereSeparator: \.isNewline).joined(separator: " ")
  let line = Array("cramfs: \(kind): \(flat)\n".utf8)
  _ = try? line.withUnsafeBytes { try FileDescriptor.standardError.write($0) }
}
