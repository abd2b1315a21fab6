#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// System calls relative to a directory descriptor, none of which follows a symlink at the last
/// component (names never contain `/`, so there are no other components).
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
  static func openDirectory(_ parent: CInt, _ name: [UInt8]) -> CInt {
    withCName(name) { openat(parent, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
  }

  /// Creates a new regular file for writing; fails if anything (even a dangling symlink) has that name.
  static func createFile(_ parent: CInt, _ name: [UInt8]) -> CInt {
    withCName(name) { openat(parent, $0, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600) }
  }

  static func makeDirectory(_ parent: CInt, _ name: [UInt8]) -> CInt {
    withCName(name) { mkdirat(parent, $0, 0o700) }
  }

  static func makeSymlink(_ parent: CInt, _ name: [UInt8], target: [UInt8]) -> CInt {
    withCName(target) { target in withCName(name) { symlinkat(target, parent, $0) } }
  }

  static func makeNode(_ parent: CInt, _ name: [UInt8], mode: mode_t, device: dev_t) -> CInt {
    withCName(name) { mknodat(parent, $0, mode, device) }
  }

  /// Removes `name` whatever it is, unless it is a directory; returns whether a directory stays there.
  static func removeNonDirectory(_ parent: CInt, _ name: [UInt8]) -> (removed: Bool, isDirectory: Bool, errno: CInt) {
    withCName(name) { path in
      if unlinkat(parent, path, 0) == 0 { return (true, false, 0) }
      let code = errno
      if code == ENOENT { return (true, false, 0) }
      if code == EISDIR || code == EPERM {
        var info = stat()
        if fstatat(parent, path, &info, AT_SYMLINK_NOFOLLOW) == 0, info.st_mode & S_IFMT == S_IFDIR { return (false, true, 0) }
      }
      return (false, false, code)
    }
  }

  static func removeEmptyDirectory(_ parent: CInt, _ name: [UInt8]) -> CInt {
    withCName(name) { unlinkat(parent, $0, AT_REMOVEDIR) }
  }

  /// Owner of `name` itself (a symlink is not followed).
  static func setOwner(_ parent: CInt, _ name: [UInt8], uid: UInt32, gid: UInt32) -> CInt {
    withCName(name) { fchownat(parent, $0, uid_t(uid), gid_t(gid), AT_SYMLINK_NOFOLLOW) }
  }

  /// Mode of `name`, which the caller has just created and knows is not a symlink.
  static func setMode(_ parent: CInt, _ name: [UInt8], _ mode: mode_t) -> CInt {
    withCName(name) { fchmodat(parent, $0, mode, 0) }
  }

  /// Access and modification times of `name` (not followed) to the epoch, as cramfs has no times.
  static func zeroTimes(_ parent: CInt, _ name: [UInt8]) -> CInt {
    var times = [timespec(tv_sec: 0, tv_nsec: 0), timespec(tv_sec: 0, tv_nsec: 0)]
    return withCName(name) { utimensat(parent, $0, &times, AT_SYMLINK_NOFOLLOW) }
  }

  static func zeroTimes(_ fd: CInt) -> CInt {
    var times = [timespec(tv_sec: 0, tv_nsec: 0), timespec(tv_sec: 0, tv_nsec: 0)]
    return futimens(fd, &times)
  }

  /// Writes all of `bytes` at `offset`, retrying short writes and `EINTR`; returns false with `errno` set on
  /// failure.
  static func writeAll(_ fd: CInt, _ bytes: UnsafeRawBufferPointer, at offset: Int) -> Bool {
    var done = 0
    while done < bytes.count {
      let written = pwrite(fd, bytes.baseAddress! + done, min(bytes.count - done, 1 << 30), off_t(offset + done))
      if written < 0 {
        if errno == EINTR { continue }
        return false
      }
      done += written
    }
    return true
  }

  /// Whether the directory open at `fd` has entries other than `.` and `..`.
  static func isNonEmpty(_ fd: CInt) -> Bool {
    let copy = dup(fd)
    guard copy >= 0, let stream = fdopendir(copy) else { return true }
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
