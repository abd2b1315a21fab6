import Cramfs
import Foundation

/// A small tree with every entry type and block-boundary sizes, made in a temporary directory.
struct ReaderFixtureTree {
  let root: URL

  init(seed: UInt64) throws {
    root = FileManager.default.temporaryDirectory.appendingPathComponent("cramfs-reader-\(UUID().uuidString)")
    let fm = FileManager.default
    try fm.createDirectory(at: root.appendingPathComponent("src/sub/deeper"), withIntermediateDirectories: true)
    try fm.createDirectory(at: root.appendingPathComponent("src/empty-dir"), withIntermediateDirectories: true)
    var rng = SplitMix(seed: seed)
    let src = root.appendingPathComponent("src")
    func write(_ name: String, _ bytes: [UInt8]) throws {
      try Data(bytes).write(to: src.appendingPathComponent(name))
    }
    try write("empty", [])
    for size in [1, 4095, 4096, 4097, 16384, 16385, 65536, 70000] {
      try write("text-\(size)", (0..<size).map { UInt8(truncatingIfNeeded: ($0 * 7 + $0 / 100) % 26 + 97) })
    }
    try write("random", (0..<50_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
    try write("zeros-then-data", [UInt8](repeating: 0, count: 70_000) + Array("tail".utf8))
    try write("sub/deeper/leaf", Array("leaf\n".utf8))
    try write("sub/naïve-名前", Array("utf8 name\n".utf8))
    try fm.createSymbolicLink(atPath: src.appendingPathComponent("link-to-text").path, withDestinationPath: "text-4097")
    try fm.createSymbolicLink(atPath: src.appendingPathComponent("sub/abs-link").path, withDestinationPath: "/etc/passwd")
    guard mknod(src.appendingPathComponent("null").path, S_IFCHR | 0o666, hostDevice(1, 3)) == 0,
      mknod(src.appendingPathComponent("disk").path, S_IFBLK | 0o640, hostDevice(8, 17)) == 0,
      mkfifo(src.appendingPathComponent("fifo").path, 0o600) == 0
    else { throw CocoaError(.fileWriteUnknown) }
    chmod(src.appendingPathComponent("text-1").path, 0o4755)
    chown(src.appendingPathComponent("text-4095").path, 1234, 56)
  }

  var source: URL { root.appendingPathComponent("src") }

  /// Runs util-linux `mkfs.cramfs` with `arguments` and returns the image path.
  func referenceImage(_ arguments: [String], name: String) throws -> String {
    let image = root.appendingPathComponent(name).path
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/sbin/mkfs.cramfs")
    process.arguments = arguments + [source.path, image]
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
    return image
  }

  func remove() { try? FileManager.default.removeItem(at: root) }
}

/// A tiny seeded generator so failures replay.
struct SplitMix: RandomNumberGenerator {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

/// What the kernel would show for a host file, truncated to cramfs's field widths.
struct ExpectedEntry: Equatable, CustomStringConvertible {
  var mode: UInt32
  var uid: UInt32
  var gid: UInt32
  var content: [UInt8]?
  var device: DeviceNumber?

  var description: String { "mode 0o\(String(mode, radix: 8)) uid \(uid) gid \(gid) content \(content?.count ?? -1) device \(device.map(String.init(describing:)) ?? "-")" }

  init(hostPath: String) throws {
    var info = stat()
    guard lstat(hostPath, &info) == 0 else { throw CocoaError(.fileReadNoSuchFile) }
    mode = UInt32(info.st_mode) & 0xFFFF
    uid = UInt32(info.st_uid) & 0xFFFF
    gid = UInt32(info.st_gid) & 0xFF
    switch info.st_mode & S_IFMT {
    case S_IFREG: content = Array(try Data(contentsOf: URL(fileURLWithPath: hostPath)))
    case S_IFLNK: content = Array(try FileManager.default.destinationOfSymbolicLink(atPath: hostPath).utf8)
    case S_IFCHR, S_IFBLK: device = DeviceNumber(major: UInt32(hostMajor(info.st_rdev)), minor: UInt32(hostMinor(info.st_rdev)))
    default: break
    }
  }

  init(image: CramfsImage, node: Node) throws {
    let stat = image.stat(node)
    mode = stat.mode
    uid = stat.uid
    gid = stat.gid
    device = stat.device
    switch node.type {
    case .regular: content = try image.contents(of: node)
    case .symlink: content = try image.readlink(node)
    default: break
    }
  }
}

/// Every path below `root` on the host, relative, with a leading slash.
func hostPaths(below root: URL) throws -> [String] {
  let enumerator = FileManager.default.enumerator(atPath: root.path)!
  return enumerator.compactMap { $0 as? String }.map { "/" + $0 }.sorted()
}

// glibc's makedev/major/minor are macros Swift does not import.
func hostDevice(_ major: UInt64, _ minor: UInt64) -> dev_t {
  dev_t((major & 0xFFF) << 8 | (minor & 0xFF) | (major & ~0xFFF) << 32 | (minor & ~0xFF) << 12)
}
func hostMajor(_ device: dev_t) -> UInt64 { (UInt64(device) >> 8) & 0xFFF | (UInt64(device) >> 32) & ~0xFFF }
func hostMinor(_ device: dev_t) -> UInt64 { UInt64(device) & 0xFF | (UInt64(device) >> 12) & ~0xFF }
