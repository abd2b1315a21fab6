import struct SystemPackage.Errno
import struct SystemPackage.FileDescriptor
import struct SystemPackage.FilePermissions

extension FileDescriptor {
  /// Opens `path` as given, byte for byte, through swift-system's `open` (retried on `EINTR`).
  ///
  /// A `FilePath` would normalize the path first (`"file/"` would open `"file"`, which `open(2)` refuses);
  /// host paths from the command line and from directory scans go through unchanged instead.
  ///
  /// - Throws: the `Errno` of the failed `open`, for `SystemCall/error(_:errno:path:)`.
  package static func open(
    path: String, _ mode: AccessMode, options: OpenOptions = [], permissions: FilePermissions? = nil
  ) throws(Errno) -> FileDescriptor {
    // `withCString` rethrows untyped errors: the result comes out as a value.
    try path.withCString { name in
      Result { () throws(Errno) in try open(cString: name, mode, options: options, permissions: permissions) }
    }.get()
  }

  /// Opens the host path `pathBytes` (not necessarily UTF-8), as `open(path:_:options:permissions:)`.
  package static func open(
    pathBytes: [UInt8], _ mode: AccessMode, options: OpenOptions = [], permissions: FilePermissions? = nil
  ) throws(Errno) -> FileDescriptor {
    var terminated = pathBytes
    terminated.append(0)
    return try terminated.withUnsafeBufferPointer { (buffer) throws(Errno) in
      try buffer.withMemoryRebound(to: CChar.self) { (name) throws(Errno) in
        try open(cString: name.baseAddress!, mode, options: options, permissions: permissions)
      }
    }
  }

  /// `open(path:_:options:permissions:)` that fails with the one-line error every caller gives:
  /// `message` (such as `cannot open <path>`), the system's reason, and `path`.
  package static func open(
    path: String, _ mode: AccessMode, options: OpenOptions = [], orThrow message: @autoclosure () -> String
  ) throws(CramfsError) -> FileDescriptor {
    do {
      return try open(path: path, mode, options: options)
    } catch {
      throw SystemCall.error(message(), errno: error.rawValue, path: path)
    }
  }

  /// `open(pathBytes:_:options:permissions:)` that fails as `open(path:_:options:orThrow:)`, naming `path`.
  package static func open(
    pathBytes: [UInt8], _ mode: AccessMode, options: OpenOptions = [], path: String, orThrow message: @autoclosure () -> String
  ) throws(CramfsError) -> FileDescriptor {
    do {
      return try open(pathBytes: pathBytes, mode, options: options)
    } catch {
      throw SystemCall.error(message(), errno: error.rawValue, path: path)
    }
  }

  private static func open(
    cString name: UnsafePointer<CChar>, _ mode: AccessMode, options: OpenOptions, permissions: FilePermissions?
  ) throws(Errno) -> FileDescriptor {
    do {
      return try open(name, mode, options: options, permissions: permissions)
    } catch {
      // swift-system's `open` throws only `Errno`, untyped.
      throw Errno(rawValue: SystemCall.code(of: error))
    }
  }
}

extension FileDescriptor {
  /// Reads from the current position to the end of the file in 64 KiB reads (retried on `EINTR`), for files
  /// whose size `stat` does not tell (`/proc`, pipes) or need not. Nil if the file holds more than `limit`
  /// bytes.
  package func readToEnd(limit: Int = .max) throws(Errno) -> [UInt8]? {
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
      let count: Int
      do {
        count = try chunk.withUnsafeMutableBytes { try read(into: $0) }
      } catch {
        throw Errno(rawValue: SystemCall.code(of: error))
      }
      if count == 0 { return bytes }
      bytes.append(contentsOf: chunk[0..<count])
      if bytes.count > limit { return nil }
    }
  }
}
