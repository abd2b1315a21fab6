#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import struct SystemPackage.FileDescriptor
import struct SystemPackage.Errno

/// System calls relative to a directory descriptor, none of which follows a symlink at the last
/// component (names never contain `/`, so there are no other components).
///
/// swift-system has no `*at` calls: they take `parent.rawValue` here, and only here. Those that return a
/// status leave `errno` set on failure, for ``SystemCall``.
enum HostDirectory {
  /// Runs `body` with `name` as a NUL-terminated C string.
  static func withCName<T>(_ name: [UInt8], _ body: (UnsafePointer<CChar>) -> T) -> T {
    var bytes = name
    bytes.append(0)
    return bytes.withUnsafeBufferPointer { buffer in
      buffer.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) }
    }
  }

  /// Opens an existing directory `name` inside `parent`; refuses symlinks (`ELOOP`) and non-directories.
  static func openDirectory(_ parent: FileDescriptor, _ name: [UInt8]) -> Result<FileDescriptor, Errno> {
    open(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
  }

  /// Creates a new regular file for writing; fails if anything (even a dangling symlink) has that name.
  static func createFile(_ parent: FileDescriptor, _ name: [UInt8]) -> Result<FileDescriptor, Errno> {
    open(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode: 0o600)
  }

  /// `openat`, retried on `EINTR` as swift-system's `open` is.
  private static func open(_ parent: FileDescriptor, _ name: [UInt8], _ flags: CInt, mode: mode_t = 0)
    -> Result<FileDescriptor, Errno>
  {
    withCName(name) { path in
      while true {
        let fd = openat(parent.rawValue, path, flags, mode)
        if fd >= 0 { return .success(FileDescriptor(rawValue: fd)) }
        if errno != EINTR { return .failure(Errno(rawValue: errno)) }
      }
    }
  }

  static func makeDirectory(_ parent: FileDescriptor, _ name: [UInt8]) -> CInt {
    withCName(name) { mkdirat(parent.rawValue, $0, 0o700) }
  }

  static func makeSymlink(_ parent: FileDescriptor, _ name: [UInt8], target: [UInt8]) -> CInt {
    withCName(target) { target in withCName(name) { symlinkat(target, parent.rawValue, $0) } }
  }

  static func makeNode(_ parent: FileDescriptor, _ name: [UInt8], mode: mode_t, device: dev_t) -> CInt {
    withCName(name) { mknodat(parent.rawValue, $0, mode, device) }
  }

  /// Removes `name` whatever it is, unless it is a directory; returns whether a directory stays there.
  static func removeNonDirectory(_ parent: FileDescriptor, _ name: [UInt8]) -> (removed: Bool, isDirectory: Bool, errno: CInt) {
    withCName(name) { path in
      if unlinkat(parent.rawValue, path, 0) == 0 { return (true, false, 0) }
      let code = errno
      if code == ENOENT { return (true, false, 0) }
      if code == EISDIR || code == EPERM {
        var info = stat()
        if fstatat(parent.rawValue, path, &info, AT_SYMLINK_NOFOLLOW) == 0, info.st_mode & S_IFMT == S_IFDIR { return (false, true, 0) }
      }
      return (false, false, code)
    }
  }

  static func removeEmptyDirectory(_ parent: FileDescriptor, _ name: [UInt8]) -> CInt {
    withCName(name) { unlinkat(parent.rawValue, $0, AT_REMOVEDIR) }
  }

  /// Owner of `name` itself (a symlink is not followed).
  static func setOwner(_ parent: FileDescriptor, _ name: [UInt8], uid: UInt32, gid: UInt32) -> CInt {
    withCName(name) { fchownat(parent.rawValue, $0, uid_t(uid), gid_t(gid), AT_SYMLINK_NOFOLLOW) }
  }

  /// Mode of `name`, which the caller has just created and knows is not a symlink.
  static func setMode(_ parent: FileDescriptor, _ name: [UInt8], _ mode: mode_t) -> CInt {
    withCName(name) { fchmodat(parent.rawValue, $0, mode, 0) }
  }

  /// Access and modification times of `name` (not followed) to the epoch, as cramfs has no times.
  static func zeroTimes(_ parent: FileDescriptor, _ name: [UInt8]) -> CInt {
    var times = [timespec(tv_sec: 0, tv_nsec: 0), timespec(tv_sec: 0, tv_nsec: 0)]
    return withCName(name) { utimensat(parent.rawValue, $0, &times, AT_SYMLINK_NOFOLLOW) }
  }

  static func zeroTimes(_ fd: FileDescriptor) -> CInt {
    var times = [timespec(tv_sec: 0, tv_nsec: 0), timespec(tv_sec: 0, tv_nsec: 0)]
    return futimens(fd.rawValue, &times)
  }

  /// Whether the directory open at `fd` has entries other than `.` and `..`.
  static func isNonEmpty(_ fd: FileDescriptor) -> Bool {
    // `closedir` closes the descriptor it reads: give it a copy.
    guard let copy = try? fd.duplicate() else { return true }
    guard let stream = fdopendir(copy.rawValue) else {
      try? copy.close()
      return true
    }
    defer { closedir(stream) }
    while let entry = readdir(stream) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
      if name != [0x2E] && name != [0x2E, 0x2E] { return true }
    }
    return false
  }

  /// The Linux device number for `device` (`makedev`).
  static func deviceNumber(_ device: DeviceNumber) -> dev_t { dev_t(device.linuxDev) }

  /// Raises the soft limit on open files to the hard limit (directories stay open during extraction).
  static func raiseOpenFileLimit() {
    var limit = rlimit()
    #if canImport(Glibc)
      let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
      let resource = RLIMIT_NOFILE
    #endif
    guard getrlimit(resource, &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
    limit.rlim_cur = limit.rlim_max
    _ = setrlimit(resource, &limit)
  }
}
