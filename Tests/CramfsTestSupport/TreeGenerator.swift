import Cramfs
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// SplitMix64: small, fast, and the same sequence on every platform for a given seed.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
  public private(set) var state: UInt64

  public init(seed: UInt64) { state = seed }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  public mutating func bytes(_ count: Int) -> [UInt8] {
    var out = [UInt8]()
    out.reserveCapacity(count + 8)
    while out.count < count { withUnsafeBytes(of: next()) { out.append(contentsOf: $0) } }
    return Array(out.prefix(count))
  }
}

/// Test seeds: `CRAMFS_TEST_SEED` replays a failing run; otherwise the given default.
public enum TestSeed {
  /// The seed from `CRAMFS_TEST_SEED` (decimal or 0x hex), or `fallback`.
  public static func value(_ fallback: UInt64) -> UInt64 {
    guard let text = ProcessInfo.processInfo.environment["CRAMFS_TEST_SEED"] else {
      return fallback
    }
    if text.hasPrefix("0x") { return UInt64(text.dropFirst(2), radix: 16) ?? fallback }
    return UInt64(text) ?? fallback
  }
}

/// A directory tree generated on disk from a seed.
public struct GeneratedTree: Sendable {
  public var root: String
  public var seed: UInt64
  public var entryCount: Int

  public init(root: String, seed: UInt64, entryCount: Int) {
    self.root = root
    self.seed = seed
    self.entryCount = entryCount
  }

  /// Pass this as a test comment so a failure says how to replay it.
  public var replayHint: String { "tree seed \(seed) (replay with CRAMFS_TEST_SEED=\(seed))" }
}

/// Makes directory trees with every entry kind and boundary the builder must handle.
///
/// Contents: empty files; sizes around block boundaries (4095/4096/4097 and multiples, 16 KiB and 64 KiB ± 1);
/// files with all-zero blocks; incompressible random data; duplicated contents; symlinks; character and
/// block devices; fifos; sockets; a deep chain and a wide directory; 252-byte ASCII and UTF-8 names and
/// other non-ASCII names; odd modes (setuid, setgid, sticky, 000) and owners. Must run as root (mknod, chown).
public struct TreeGenerator {
  public struct Options: Sendable {
    /// Put identical contents only in entries of the same type, mode, uid and gid, so that `mkfs.cramfs`
    /// (which deduplicates across them) writes the same image as we do.
    public var byteExactSafe = true
    /// Roughly how many regular files of random sizes to add besides the fixed boundary set.
    public var randomFiles = 40
    /// Largest random file size.
    public var maxRandomSize = 200_000
    public var depth = 10
    public var wideCount = 120
    public var includeSpecialFiles = true

    public init() {}
  }

  public var options: Options
  private var random: SeededGenerator
  private var counter = 0
  private var entries = 0
  private let seed: UInt64

  public init(seed: UInt64, options: Options = Options()) {
    self.seed = seed
    self.options = options
    random = SeededGenerator(seed: seed)
  }

  /// Creates the tree at `root` (which must not exist).
  public mutating func generate(at root: String) throws -> GeneratedTree {
    try makeDirectory(root, mode: 0o755)
    entries = 0
    let blockBoundaries = [
      1, 100, 4095, 4096, 4097, 8191, 8192, 8193, 12288, 16383, 16384, 16385, 65535, 65536, 65537,
      131073,
    ]
    try makeDirectory(root + "/sizes", mode: 0o755)
    for size in blockBoundaries {
      try writeFile(root + "/sizes/text-\(size)", content: text(size), mode: 0o644)
      try writeFile(root + "/sizes/random-\(size)", content: random.bytes(size), mode: 0o644)
    }
    try writeFile(root + "/empty", content: [], mode: 0o644)
    try writeFile(root + "/sizes/empty-too", content: [], mode: 0o600, uid: 12, gid: 34)

    // Zero blocks: whole-zero files (one per size, so no cross-mode duplicates) and zero runs in the middle.
    try makeDirectory(root + "/zeros", mode: 0o755)
    for blocks in [1, 2, 5, 17] {
      try writeFile(
        root + "/zeros/all-\(blocks)", content: [UInt8](repeating: 0, count: blocks * 4096 + 7),
        mode: 0o644)
    }
    for _ in 0..<4 {
      var content = text(3000)
      content += [UInt8](repeating: 0, count: 4096 * Int.random(in: 1...20, using: &random))
      content += text(Int.random(in: 1...9000, using: &random))
      try writeFile(root + "/zeros/middle-\(counter)", content: content, mode: 0o644)
    }

    // Duplicates with the same type, mode and owner (deduplicated by both builders).
    try makeDirectory(root + "/dups", mode: 0o755)
    try makeDirectory(root + "/dups/nested", mode: 0o750, uid: 5, gid: 6)
    for index in 0..<3 {
      let content =
        index == 0 ? random.bytes(10_000) : text(Int.random(in: 1...30_000, using: &random))
      try writeFile(root + "/dups/a-\(index)", content: content, mode: 0o644)
      try writeFile(root + "/dups/nested/b-\(index)", content: content, mode: 0o644)
      try writeFile(root + "/zz-copy-\(index)", content: content, mode: 0o644)
      if !options.byteExactSafe {
        // Same bytes, other mode or owner: must not share data.
        try writeFile(root + "/dups/exec-\(index)", content: content, mode: 0o755)
        try writeFile(
          root + "/dups/owned-\(index)", content: content, mode: 0o644, uid: 1000, gid: 100)
      }
    }
    if !options.byteExactSafe {
      // A symlink and a file with the same bytes.
      try writeFile(
        root + "/dups/looks-like-link", content: Array("../sizes/text-1".utf8), mode: 0o777)
      try makeSymlink(root + "/dups/link-with-same-bytes", target: "../sizes/text-1")
    }

    // Symlinks: short, long (close to a page), dangling, duplicated targets.
    try makeDirectory(root + "/links", mode: 0o755)
    try makeSymlink(root + "/links/to-empty", target: "../empty")
    try makeSymlink(root + "/links/dangling", target: "nowhere/at/all")
    try makeSymlink(root + "/links/same-1", target: "../sizes/text-4096")
    try makeSymlink(root + "/links/same-2", target: "../sizes/text-4096")
    try makeSymlink(root + "/links/long", target: String(repeating: "long/", count: 800) + "end")
    try makeSymlink(root + "/links/owned", target: "owned-target", uid: 7, gid: 8)

    if options.includeSpecialFiles {
      try makeDirectory(root + "/dev", mode: 0o755)
      try makeNode(root + "/dev/null", type: S_IFCHR, mode: 0o666, major: 1, minor: 3)
      try makeNode(root + "/dev/sda1", type: S_IFBLK, mode: 0o660, major: 8, minor: 1, gid: 6)
      try makeNode(root + "/dev/tty255", type: S_IFCHR, mode: 0o620, major: 4, minor: 255)
      try makeNode(root + "/dev/zero-dev", type: S_IFBLK, mode: 0o600, major: 0, minor: 0)
      try makeNode(root + "/dev/fifo", type: S_IFIFO, mode: 0o644, major: 0, minor: 0)
      try makeSocket(root + "/dev/sock")
    }

    // Deep chain and a wide directory.
    var deep = root + "/deep"
    for level in 0..<options.depth {
      try makeDirectory(deep, mode: 0o755)
      try writeFile(
        deep + "/f\(level)", content: text(Int.random(in: 0...5000, using: &random)), mode: 0o644)
      deep += "/d\(level)"
    }
    try makeDirectory(deep, mode: 0o700)  // empty at the bottom
    try makeDirectory(root + "/wide", mode: 0o755)
    for index in 0..<options.wideCount {
      let name =
        String(String(index + 1000).dropFirst()) + "-" + ["a", "B", "_", ".x", "z"][index % 5]
      try writeFile(
        root + "/wide/" + name, content: text(Int.random(in: 0...300, using: &random)), mode: 0o644)
    }
    try makeDirectory(root + "/empty-dir", mode: 0o755)

    // Names: 252 bytes (ASCII and multibyte UTF-8), non-ASCII, bytes that sort differently by locale.
    try makeDirectory(root + "/names", mode: 0o755)
    try writeFile(
      root + "/names/" + String(repeating: "n", count: 252), content: text(50), mode: 0o644)
    // 252 bytes of two- and three-byte UTF-8 characters.
    try writeFile(
      root + "/names/" + String(repeating: "é", count: 126), content: text(60), mode: 0o644)
    try writeFile(
      root + "/names/" + String(repeating: "日", count: 84), content: text(70), mode: 0o644)
    for name in [
      "Zebra", "apple", "Äpfel", "ångström", "日本語", "emoji-🙂", "_under", "a b c", "-dash", "UPPER",
      "lower",
    ] {
      try writeFile(
        root + "/names/" + name, content: text(Int.random(in: 1...2000, using: &random)),
        mode: 0o644)
    }
    try makeDirectory(root + "/names/" + String(repeating: "d", count: 252), mode: 0o755)
    try writeFile(
      root + "/names/" + String(repeating: "d", count: 252) + "/inside", content: text(10),
      mode: 0o644)

    // Odd modes and owners.
    try makeDirectory(root + "/modes", mode: 0o755)
    try writeFile(root + "/modes/setuid", content: text(500), mode: 0o4755)
    try writeFile(root + "/modes/setgid", content: text(500), mode: 0o2711)
    try writeFile(root + "/modes/none", content: text(500), mode: 0o000)
    try writeFile(root + "/modes/read-only", content: text(500), mode: 0o400, uid: 65535, gid: 255)
    try writeFile(root + "/modes/owned", content: text(500), mode: 0o640, uid: 1234, gid: 56)
    try makeDirectory(root + "/modes/sticky", mode: 0o1777)
    try writeFile(root + "/modes/sticky/inside", content: text(40), mode: 0o666)
    try makeDirectory(root + "/modes/locked", mode: 0o000)

    // Random files in random directories.
    var directories = [
      root, root + "/sizes", root + "/deep", root + "/wide", root + "/modes/sticky",
    ]
    for index in 0..<options.randomFiles {
      if Int.random(in: 0..<6, using: &random) == 0 {
        let directory = directories.randomElement(using: &random)! + "/r\(index)"
        try makeDirectory(directory, mode: 0o755)
        directories.append(directory)
      }
      let directory = directories.randomElement(using: &random)!
      let size = Int.random(in: 0...options.maxRandomSize, using: &random)
      let content = Bool.random(using: &random) ? text(size) : random.bytes(size)
      try writeFile(directory + "/file\(index)", content: content, mode: 0o644)
    }

    // Directory modes last, so that locked directories were still writable above (root ignores modes anyway).
    for (path, mode) in pendingDirectoryModes { chmod(path, mode) }
    return GeneratedTree(root: root, seed: seed, entryCount: entries)
  }

  private var pendingDirectoryModes: [(String, mode_t)] = []

  /// Compressible, unique text: a header naming the file, then seeded words.
  private mutating func text(_ size: Int) -> [UInt8] {
    counter += 1
    var out = Array("file \(counter) of tree \(seed)\n".utf8)
    let words = [
      "cramfs", "block", "inode", "kernel", "page", "zlib", "stream", "offset", "mode", "owner",
      "\n",
    ]
    while out.count < size { out += Array((words.randomElement(using: &random)! + " ").utf8) }
    return Array(out.prefix(size))
  }

  private mutating func writeFile(
    _ path: String, content: [UInt8], mode: mode_t, uid: uid_t = 0, gid: gid_t = 0
  ) throws {
    guard FileManager.default.createFile(atPath: path, contents: Data(content)) else {
      throw GeneratorError("cannot create \(path)")
    }
    try check(chown(path, uid, gid), path)
    try check(chmod(path, mode), path)
    entries += 1
  }

  private mutating func makeDirectory(_ path: String, mode: mode_t, uid: uid_t = 0, gid: gid_t = 0)
    throws
  {
    try check(mkdir(path, 0o755), path)
    try check(chown(path, uid, gid), path)
    pendingDirectoryModes.append((path, mode))
    entries += 1
  }

  private mutating func makeSymlink(_ path: String, target: String, uid: uid_t = 0, gid: gid_t = 0)
    throws
  {
    try check(symlink(target, path), path)
    try check(lchown(path, uid, gid), path)
    entries += 1
  }

  private mutating func makeNode(
    _ path: String, type: mode_t, mode: mode_t, major: UInt32, minor: UInt32, uid: uid_t = 0,
    gid: gid_t = 0
  ) throws {
    try check(mknod(path, type | mode, makeDevice(major: major, minor: minor)), path)
    try check(chown(path, uid, gid), path)
    try check(chmod(path, mode), path)
    entries += 1
  }

  private mutating func makeSocket(_ path: String) throws {
    try TreeGenerator.makeSocket(at: path)
    entries += 1
  }

  /// Binds a Unix socket at `path` (which leaves a socket file behind) and closes it.
  public static func makeSocket(at path: String) throws {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw GeneratorError("socket() failed") }
    defer { close(fd) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
      throw GeneratorError("socket path too long: \(path)")
    }
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
      for (i, byte) in bytes.enumerated() { raw[i] = byte }
    }
    let result = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
      }
    }
    guard result == 0 else {
      throw GeneratorError("bind \(path): \(String(cString: strerror(errno)))")
    }
  }

  private func check(_ result: Int32, _ path: String) throws {
    guard result == 0 else { throw GeneratorError("\(path): \(String(cString: strerror(errno)))") }
  }
}

public struct GeneratorError: Error, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}
