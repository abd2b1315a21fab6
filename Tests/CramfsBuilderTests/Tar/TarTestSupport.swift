import Cramfs
import CramfsTestSupport
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Runs a shell command line; throws with its standard error when it fails.
@discardableResult
func shell(_ command: String) throws -> ProcessResult {
  let result = try runProcess("/bin/sh", ["-c", command], timeout: 120)
  guard result.status == 0, !result.crashed, !result.timedOut else {
    throw GeneratorError("`\(command)` failed (\(result.status)): \(result.standardError)")
  }
  return result
}

/// Quotes `text` for `/bin/sh`.
func shellQuoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }

/// A tree with every entry type tar can carry, made for real (owners and device nodes need root):
/// directories with odd modes and owners, files of boundary sizes, setuid/setgid/sticky bits, hard links
/// (across directories), relative, absolute and long symlinks, character and block devices, a fifo,
/// 252-byte and UTF-8 names.
enum EveryTypeTree {
  static var canBeMade: Bool { getuid() == 0 }

  static func make(at root: String) throws {
    var random = SeededGenerator(seed: 0x7A2)
    let long = String(repeating: "n", count: 252)
    let lines = [
      "mkdir -p \(root)/dir/sub/deeper \(root)/empty \(root)/sticky \(root)/private",
      "chmod 1777 \(root)/sticky; chmod 700 \(root)/private; chown 1000:100 \(root)/private",
      ": > \(root)/zero; printf a > \(root)/one",
      "head -c 4095 /dev/zero | tr '\\0' x > \(root)/dir/page-1",
      "head -c 4096 /dev/zero > \(root)/dir/page",
      "printf 'setuid' > \(root)/dir/setuid; chmod 4755 \(root)/dir/setuid",
      "printf 'setgid' > \(root)/dir/setgid; chmod 2711 \(root)/dir/setgid; chown 0:42 \(root)/dir/setgid",
      "printf 'owned' > \(root)/dir/sub/owned; chown 1234:56 \(root)/dir/sub/owned; chmod 640 \(root)/dir/sub/owned",
      "ln \(root)/dir/sub/owned \(root)/dir/sub/deeper/owned-link",
      "ln \(root)/dir/setuid \(root)/setuid-link",
      "ln -s ../one \(root)/dir/relative",
      "ln -s /etc/passwd \(root)/absolute",
      "ln -s \(String(repeating: "t/", count: 500)) \(root)/long-target",
      "mknod \(root)/dir/null c 1 3; chown 0:5 \(root)/dir/null; chmod 666 \(root)/dir/null",
      "mknod \(root)/sda1 b 8 1; chmod 660 \(root)/sda1",
      "mknod \(root)/big-device c 300 70000",
      "mkfifo \(root)/private/fifo; chown 7:7 \(root)/private/fifo",
      ": > \(root)/dir/\(long)",
      "printf 'unicode' > \(root)/dir/grüße-ünïcødé; ln \(root)/dir/grüße-ünïcødé \(root)/dir/sub/zweite-ünïcødé",
      "printf same > \(root)/same-a; printf same > \(root)/same-b",
    ]
    try shell(lines.joined(separator: " && "))
    let data = Data(random.bytes(150_000))
    guard FileManager.default.createFile(atPath: root + "/dir/sub/random", contents: data),
      FileManager.default.createFile(atPath: root + "/random-copy", contents: data)
    else { throw GeneratorError("cannot write random files") }
    try shell("chmod 755 \(root)/dir/sub/random; chown 3:4 \(root)/dir/sub/random; chmod 755 \(root)")
  }
}

/// The archives GNU tar makes of a tree, each a different way in.
enum ArchiveKind: String, CaseIterable, Sendable {
  case pax, gnu, gzip, bzip2, xz, zstd

  /// The `tar` options (always numeric owners, the tree's own order).
  var tarArguments: String {
    switch self {
    case .pax: "--format=pax"
    case .gnu: "--format=gnu"
    case .gzip: "--format=pax -z"
    case .bzip2: "-j"
    case .xz: "--format=pax -J"
    case .zstd: "--format=pax --zstd"
    }
  }

  /// Makes the archive of `tree` at `path`.
  func make(of tree: String, at path: String) throws {
    try shell("tar --numeric-owner \(tarArguments) -C \(shellQuoted(tree)) -cf \(shellQuoted(path)) .")
  }
}

/// The files in `directory` (to prove nothing was left behind).
func directoryListing(_ directory: String) throws -> [String] {
  try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
}
