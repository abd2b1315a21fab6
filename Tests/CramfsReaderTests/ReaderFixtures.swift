import Cramfs
import CramfsTestSupport
import Foundation

/// A small tree with every entry type and block-boundary sizes, made in a temporary directory.
struct ReaderFixtureTree {
  let root: URL

  init(seed: UInt64) throws {
    root = URL(fileURLWithPath: try makeTemporaryDirectory("reader"))
    let fm = FileManager.default
    try fm.createDirectory(at: root.appendingPathComponent("src/sub/deeper"), withIntermediateDirectories: true)
    try fm.createDirectory(at: root.appendingPathComponent("src/empty-dir"), withIntermediateDirectories: true)
    var rng = SeededGenerator(seed: seed)
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
    guard mknod(src.appendingPathComponent("null").path, S_IFCHR | 0o666, makeDevice(major: 1, minor: 3)) == 0,
      mknod(src.appendingPathComponent("disk").path, S_IFBLK | 0o640, makeDevice(major: 8, minor: 17)) == 0,
      mkfifo(src.appendingPathComponent("fifo").path, 0o600) == 0
    else { throw CocoaError(.fileWriteUnknown) }
    chmod(src.appendingPathComponent("text-1").path, 0o4755)
    chown(src.appendingPathComponent("text-4095").path, 1234, 56)
  }

  var source: URL { root.appendingPathComponent("src") }

  /// Runs util-linux `mkfs.cramfs` with `arguments` and returns the image path.
  func referenceImage(_ arguments: [String], name: String) throws -> String {
    let image = root.appendingPathComponent(name).path
    try UtilLinuxCramfs.makeImage(arguments, source: source.path, image: image)
    return image
  }

  func remove() { removeTree(root.path) }
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
    let host = try HostEntry(hostPath: hostPath)
    mode = UInt32(host.mode) & 0xFFFF
    uid = host.cramfsUID
    gid = host.cramfsGID
    switch host.fileType {
    case S_IFREG: content = try readBytes(hostPath)
    case S_IFLNK: content = host.symlinkTarget.map { Array($0.utf8) }
    case S_IFCHR, S_IFBLK: device = DeviceNumber(major: host.deviceMajor, minor: host.deviceMinor)
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
  try hostEntries(below: root.path).map(\.path).sorted()
}
