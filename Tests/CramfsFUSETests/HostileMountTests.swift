import Cramfs
import CramfsTestSupport
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// The mount under hostile images: 200 truncated and byte-flipped images, each mounted, walked and read
/// whole through the mount by another process with a time limit. The daemon must never crash or hang, and
/// every mount must come off again; corrupt data shows as EIO, an unusable image as a refused mount.
@Suite(.enabled(if: TestEnvironment.gate(MountTools.available), "needs /dev/fuse, fusermount3 and the built cramfs binary"))
struct HostileMountTests {
  @Test(.timeLimit(.minutes(10))) func mutatedImagesNeverCrashOrHangTheDaemon() throws {
    let workspace = try Workspace("hostile")
    let tree = workspace.root + "/tree"
    var rng = SeededGenerator(seed: 0xF0E)
    try FileManager.default.createDirectory(atPath: tree + "/a/b", withIntermediateDirectories: true)
    for (name, size) in [("small", 300), ("a/mid", 20_000), ("a/b/large", 90_000), ("xip", 30_000)] {
      let text = (0..<size).map { UInt8(truncatingIfNeeded: ($0 * 31 + $0 / 97) % 91 + 32) }
      try Data(name == "xip" ? rng.bytes(size) : text).write(to: URL(fileURLWithPath: tree + "/" + name))
    }
    try FileManager.default.createSymbolicLink(atPath: tree + "/a/link", withDestinationPath: "../small")
    var options = BuildOptions()
    options.xipPatterns = ["/xip"]
    let original = try readBytes(try workspace.make(tree, options, name: "original"))

    var mounted = 0, refused = 0, eio = 0, crashes = 0, hangs = 0, stuck = 0, filesRead = 0, bytesRead = 0
    for index in 0..<200 {
      var bytes = original
      if index % 2 == 0 {
        bytes.removeLast(Int(rng.next() % UInt64(bytes.count - 80)))
      } else {
        for _ in 0..<(1 + Int(rng.next() % 6)) {
          // Flips land mostly in the metadata and tables (the first 4 KiB), sometimes in the data.
          let span = rng.next() % 3 == 0 ? bytes.count : min(bytes.count, 4096)
          bytes[Int(rng.next() % UInt64(span))] ^= UInt8(truncatingIfNeeded: 1 << (rng.next() % 8))
        }
      }
      let path = workspace.root + "/mutated"
      try Data(bytes).write(to: URL(fileURLWithPath: path))
      let mount: MountedImage
      do {
        mount = try MountedImage(image: path)
      } catch {
        refused += 1
        continue
      }
      mounted += 1
      let walk = try MountTools.run(
        "/usr/bin/timeout", ["-s", "KILL", "20", "/bin/sh", "-c", Self.walkAndRead, "sh", mount.mountPoint],
        timeout: 30)
      if walk.status == 128 + 9 || walk.status == -1 { hangs += 1 }
      eio += walk.standardError.components(separatedBy: "Input/output error").count - 1
      let counts = Self.readCounts(in: walk.standardError)
      filesRead += counts.files
      bytesRead += counts.bytes
      if !mount.process.isRunning, mount.process.terminationReason == .uncaughtSignal { crashes += 1 }
      _ = try? mount.unmount()
      if MountTools.isMounted(mount.mountPoint) { stuck += 1 }
    }
    print("hostile mounts: 200 images, \(mounted) mounted, \(refused) refused, \(filesRead) file reads (\(bytesRead) bytes), \(eio) EIO, \(crashes) crashes, \(hangs) hangs, \(stuck) left mounted")
    #expect(crashes == 0 && hangs == 0 && stuck == 0)
    #expect(mounted > 50 && eio > 0 && filesRead > 0, "the mutations did not exercise the mount: \(mounted) mounted, \(filesRead) file reads, \(eio) EIO")
  }

  /// Lists the whole mount, then reads every regular file through it and reports on standard error how many
  /// regular files the listing showed and how many bytes reading them gave (`read: N files, B bytes`).
  static let walkAndRead = """
    files=$(find "$1" -ls | awk '$3 ~ /^-/' | wc -l)
    bytes=$(find "$1" -type f -exec cat {} + | wc -c)
    echo "read: $files files, $bytes bytes" >&2
    """

  /// The counts of `walkAndRead`'s last line; zero when the walk was killed before it.
  static func readCounts(in standardError: String) -> (files: Int, bytes: Int) {
    guard let line = standardError.split(separator: "\n").last(where: { $0.hasPrefix("read: ") }) else { return (0, 0) }
    let numbers = line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
    return numbers.count == 2 ? (numbers[0], numbers[1]) : (0, 0)
  }
}
