#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import struct SystemPackage.FileDescriptor
import struct SystemPackage.FilePath
import struct SystemPackage.Stat

/// A whole file mapped read-only into memory; unmapped when the last reference goes.
///
/// Immutable after creation, so it can be shared between threads.
public final class MappedFile: @unchecked Sendable {
  public let bytes: UnsafeRawBufferPointer
  public let path: String

  /// Maps the file at `path`.
  ///
  /// - Parameters:
  ///   - path: the file (or block device) to map.
  ///   - readingAll: the caller will read the whole file (a check, an extraction): its pages are
  ///     mapped at once (`MAP_POPULATE`), which costs far less than a fault per page on tmpfs.
  /// - Throws: `CramfsError/Code/io` naming the path and the system's reason.
  public init(path: String, readingAll: Bool = false) throws(CramfsError) {
    self.path = path
    let fd: FileDescriptor
    do {
      fd = try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec])
    } catch {
      throw SystemCall.error("cannot open \(path)", thrown: error, path: path)
    }
    defer { try? fd.close() }
    let info: SystemPackage.Stat  // not Cramfs.Stat, an entry's attributes
    do {
      info = try fd.stat()
    } catch {
      throw SystemCall.error("cannot stat \(path)", errno: error.rawValue, path: path)
    }
    guard info.type == .regular || info.type == .blockSpecial else {
      throw CramfsError(.io, "\(path) is not a regular file", path: path)
    }
    var length = Int(info.size)
    if info.type == .blockSpecial {
      // A device's size is where its end is (a failed seek, -1 before, maps nothing: 0 here).
      length = Int((try? fd.seek(offset: 0, from: .end)) ?? 0)
    }
    guard length > 0 else {
      bytes = UnsafeRawBufferPointer(start: nil, count: 0)
      return
    }
    guard let address = mmap(nil, length, PROT_READ, MAP_SHARED | (readingAll ? MAP_POPULATE : 0), fd.rawValue, 0), address != MAP_FAILED else {
      throw SystemCall.error("cannot map \(path)", path: path)
    }
    bytes = UnsafeRawBufferPointer(start: address, count: length)
  }

  deinit {
    if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
  }
}
