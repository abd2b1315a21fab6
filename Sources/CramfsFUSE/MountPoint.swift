import Cramfs

#if canImport(Glibc)
  import Glibc
#endif

/// Checks made before mounting, so that a bad mount point gets one clear line.
enum MountPoint {
  /// The absolute path of `path` if it is an existing directory that nothing is mounted on.
  static func validate(_ path: String) throws(CramfsError) -> String {
    var info = stat()
    guard stat(path, &info) == 0 else {
      throw SystemCall.error("mount point \(path)", path: path)
    }
    guard info.st_mode & S_IFMT == S_IFDIR else {
      throw SystemCall.error("mount point \(path)", errno: ENOTDIR, path: path)
    }
    guard let resolved = realpath(path, nil) else {
      throw SystemCall.error("mount point \(path)", path: path)
    }
    let absolute = String(cString: resolved)
    free(resolved)
    if mountedPaths().contains(absolute) {
      throw CramfsError(.io, "mount point \(path) is busy: something is already mounted there", path: path)
    }
    return absolute
  }

  /// Mount points listed in `/proc/self/mountinfo` (field 5, with `\040`-style escapes decoded).
  static func mountedPaths() -> Set<String> {
    guard let file = fopen("/proc/self/mountinfo", "r") else { return [] }
    defer { fclose(file) }
    var result: Set<String> = []
    var line: UnsafeMutablePointer<CChar>?
    var capacity = 0
    defer { free(line) }
    while getline(&line, &capacity, file) > 0, let line {
      let fields = String(cString: line).split(separator: " ", omittingEmptySubsequences: false)
      if fields.count > 4 { result.insert(unescape(fields[4])) }
    }
    return result
  }

  private static func unescape(_ field: Substring) -> String {
    var bytes: [UInt8] = []
    let utf8 = Array(field.utf8)
    var index = 0
    while index < utf8.count {
      if utf8[index] == 0x5C, index + 3 < utf8.count, let value = UInt8(String(decoding: utf8[(index + 1)...(index + 3)], as: UTF8.self), radix: 8) {
        bytes.append(value)
        index += 4
      } else {
        bytes.append(utf8[index])
        index += 1
      }
    }
    return String(decoding: bytes, as: UTF8.self)
  }
}
