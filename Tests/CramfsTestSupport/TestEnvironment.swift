import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// What the tests need from the machine, and the rule that a CI run never skips for lack of it.
///
/// Outside CI a suite whose tool, device or permission is missing is skipped (`.enabled(if:
/// TestEnvironment.gate(...))`). Under `CI=true` every gate is open, so those tests run and fail, and
/// ``missing`` names what is absent (a test asserts it is empty).
public enum TestEnvironment {
  /// Whether this is a CI run (`CI=true`, as `.ci/run` is started).
  public static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"

  /// `available`, or true under CI: a CI run does not skip.
  public static func gate(_ available: Bool) -> Bool { available || isCI }

  /// Each requirement of some test that this machine lacks, as a phrase naming it.
  public static var missing: [String] {
    var missing: [String] = []
    for tool in [UtilLinuxCramfs.mkfs, UtilLinuxCramfs.fsck, "/usr/bin/fusermount3"] where !FileManager.default.isExecutableFile(atPath: tool) {
      missing.append("\(tool) (not installed)")
    }
    var fuse = stat()
    if stat("/dev/fuse", &fuse) != 0 || fuse.st_mode & S_IFMT != S_IFCHR || access("/dev/fuse", R_OK | W_OK) != 0 {
      missing.append("/dev/fuse (not a usable device)")
    }
    if geteuid() != 0 { missing.append("root (device nodes and owners)") }
    if builtExecutable("cramfs") == nil { missing.append("the built cramfs binary (swift build first)") }
    return missing
  }
}
