import CramfsTestSupport
import Foundation
import Testing

@testable import Cramfs

#if canImport(Glibc)
  import Glibc
#endif

/// A source tree with regular files and directories only (what a non-root user can make), and an
/// output directory; removed by `remove()`.
private struct TableScratch {
  let path: String
  var source: String { path + "/src" }
  var outputDirectory: String { path + "/out" }
  var image: String { outputDirectory + "/image.cramfs" }

  init(_ name: String) throws {
    path = try makeTemporaryDirectory(name)
    for directory in [source, outputDirectory] {
      try FileManager.default.createDirectory(
        atPath: directory, withIntermediateDirectories: true)
    }
  }

  /// `/etc/{passwd,shadow}`, `/dev/{README,tty-notes,ttyZ}` (names around the new `tty*` nodes in byte
  /// order), `/usr/bin/tool`, with modes set explicitly (umask-free).
  func makePlainTree() throws {
    for directory in ["etc", "dev", "usr", "usr/bin"] {
      try makeDirectory(directory, mode: 0o755)
    }
    try write("etc/passwd", Array("root:x:0:0::/root:/bin/sh\n".utf8), mode: 0o644)
    try write("etc/shadow", Array("root:*:19000:0:99999:7:::\n".utf8), mode: 0o644)
    try write("dev/README", Array(repeating: UInt8(ascii: "r"), count: 5000), mode: 0o644)
    try write("dev/tty-notes", Array("notes\n".utf8), mode: 0o644)
    try write("dev/ttyZ", Array("zzz\n".utf8), mode: 0o644)
    var random = SeededGenerator(seed: TestSeed.value(0xD7))
    try write("usr/bin/tool", random.bytes(9000), mode: 0o755)
  }

  func makeDirectory(_ relative: String, mode: mode_t) throws {
    let full = source + "/" + relative
    guard mkdir(full, mode) == 0 || errno == EEXIST, chmod(full, mode) == 0 else {
      throw GeneratorError("mkdir \(full): \(String(cString: strerror(errno)))")
    }
  }

  func write(_ relative: String, _ bytes: [UInt8], mode: mode_t) throws {
    let full = source + "/" + relative
    guard FileManager.default.createFile(atPath: full, contents: Data(bytes)),
      chmod(full, mode) == 0
    else { throw GeneratorError("cannot create \(full)") }
  }

  func outputFiles() throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: outputDirectory)
  }

  func remove() { removeTree(path) }
}

/// The table the tests apply to the plain tree, and what each entry must look like in the image.
private enum SampleTable {
  static let text = """
    # name        type mode uid  gid major minor start inc count
    /dev/console  c    600  0    0   5     1     -     -   -

    /dev/tty      c    666  0    0   4     0     0     1   4
    /dev/ttyS     c    640  0    20  4     64    0     1   12   # ttyS0 ... ttyS11
    /dev/hda      b    640  0    6   3     1     1     2   3
    /dev/initctl  p    600  0    0   -     -     -     -   -
    /home         d    750  1000 100 -     -     -     -   -
    /home/user    d    2700 1000 100 -     -     -     -   -
    /home/user/in p    620  1000 100 -     -     -     -   -
    /etc/shadow   f    600  0    42  -     -     -     -   -
    /dev          d    755  0    0   -     -     -     -   -
    """

  struct Expected {
    var type: FileType
    var permissions: UInt16
    var uid: UInt32
    var gid: UInt32
    var device: DeviceNumber?
  }

  /// What the table makes or changes, by image path.
  static var expected: [String: Expected] {
    var result: [String: Expected] = [
      "/dev/console": Expected(
        type: .characterDevice, permissions: 0o600, uid: 0, gid: 0,
        device: DeviceNumber(major: 5, minor: 1)),
      "/dev/initctl": Expected(type: .fifo, permissions: 0o600, uid: 0, gid: 0),
      "/home": Expected(type: .directory, permissions: 0o750, uid: 1000, gid: 100),
      "/home/user": Expected(type: .directory, permissions: 0o2700, uid: 1000, gid: 100),
      "/home/user/in": Expected(type: .fifo, permissions: 0o620, uid: 1000, gid: 100),
      "/etc/shadow": Expected(type: .regular, permissions: 0o600, uid: 0, gid: 42),
      "/dev": Expected(type: .directory, permissions: 0o755, uid: 0, gid: 0),
    ]
    for i in 0..<4 {
      result["/dev/tty\(i)"] = Expected(
        type: .characterDevice, permissions: 0o666, uid: 0, gid: 0,
        device: DeviceNumber(major: 4, minor: UInt32(i)))
    }
    for i in 0..<12 {
      result["/dev/ttyS\(i)"] = Expected(
        type: .characterDevice, permissions: 0o640, uid: 0, gid: 20,
        device: DeviceNumber(major: 4, minor: 64 + UInt32(i)))
    }
    // start 1, inc 2: hda1, hda2, hda3 with minors 1, 3, 5.
    for i in 0..<3 {
      result["/dev/hda\(i + 1)"] = Expected(
        type: .blockDevice, permissions: 0o640, uid: 0, gid: 6,
        device: DeviceNumber(major: 3, minor: 1 + 2 * UInt32(i)))
    }
    return result
  }

  static func table() throws -> DeviceTable {
    try DeviceTable(parsing: Array(text.utf8), source: "table.txt")
  }
}

/// The error `body` throws, or nil.
private func caught(_ body: () throws -> Void) -> CramfsError? {
  do {
    try body()
    return nil
  } catch let error as CramfsError {
    return error
  } catch {
    Issue.record("unexpected error \(error)")
    return nil
  }
}

@Suite("Device tables")
struct DeviceTableTests {
  @Test("a table adds devices, series, fifos, owned directories and changes a file's mode")
  func tableMakesEntries() throws {
    let scratch = try TableScratch("devtable")
    defer { scratch.remove() }
    try scratch.makePlainTree()
    var options = BuildOptions()
    options.deviceTable = try SampleTable.table()
    let report = try ImageBuilder.build(from: scratch.source, to: scratch.image, options: options)
    #expect(report.warnings.isEmpty, "\(report.warnings)")

    let image = try CramfsImage(path: scratch.image)
    for (path, expected) in SampleTable.expected {
      let node = try image.lookup(path)
      let stat = image.stat(node)
      #expect(node.type == expected.type, "\(path)")
      #expect(node.inode.mode & 0o7777 == expected.permissions, "\(path)")
      #expect(stat.uid == expected.uid && stat.gid == expected.gid, "\(path)")
      #expect(stat.device == expected.device, "\(path)")
    }
    // Entries the table does not name keep what the scan saw, and /etc/shadow keeps its data.
    let passwd = try image.lookup("/etc/passwd")
    #expect(passwd.inode.mode == FileType.regular.rawValue | 0o644)
    let shadow = try image.contents(of: try image.lookup("/etc/shadow"))
    #expect(shadow == Array("root:*:19000:0:99999:7:::\n".utf8))
    // Byte order inside /dev: README < hda* < initctl < tty-notes < tty0 < ttyS0 < ttyS10 < ttyZ.
    let names = try image.children(of: try image.lookup("/dev")).map(\.nameString)
    #expect(names == names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
    #expect(
      names == [
        "README", "console", "hda1", "hda2", "hda3", "initctl", "tty-notes", "tty0", "tty1", "tty2",
        "tty3", "ttyS0", "ttyS1", "ttyS10", "ttyS11", "ttyS2", "ttyS3", "ttyS4", "ttyS5", "ttyS6",
        "ttyS7", "ttyS8", "ttyS9", "ttyZ",
      ])
    #expect(report.specialFiles == 1 + 4 + 12 + 3 + 2)
    #expect(report.directories == 4 + 2)

    let checked = try ImageChecker.check(path: scratch.image)
    #expect(checked.isClean, "\(checked.errors.map(\.message))")
    #expect(checked.specialFiles == 22)
  }

  /// The same entries made for real (root can) give the same image bytes: new entries land where the
  /// scan puts them, in directory order and in data order.
  @Test(
    "a table gives the bytes of a tree holding the same nodes and owners",
    .enabled(if: TestEnvironment.gate(getuid() == 0), "needs root to make device nodes and change owners"),
    arguments: [false, true])
  func tableEqualsRealNodes(zlib: Bool) throws {
    let withTable = try TableScratch("devtable-a")
    defer { withTable.remove() }
    let real = try TableScratch("devtable-b")
    defer { real.remove() }
    try withTable.makePlainTree()
    try real.makePlainTree()
    for (path, expected) in SampleTable.expected.sorted(by: { $0.key < $1.key }) {
      let full = real.source + path
      let mode = mode_t(expected.permissions)
      switch expected.type {
      case .directory:
        guard mkdir(full, mode) == 0 || errno == EEXIST else {
          throw GeneratorError("mkdir \(full)")
        }
      case .characterDevice, .blockDevice:
        let device = try #require(expected.device)
        let kind = expected.type == .characterDevice ? S_IFCHR : S_IFBLK
        guard
          mknod(full, kind | mode, makeDevice(major: device.major, minor: device.minor)) == 0
        else { throw GeneratorError("mknod \(full): \(String(cString: strerror(errno)))") }
      case .fifo:
        guard mkfifo(full, mode) == 0 else { throw GeneratorError("mkfifo \(full)") }
      default:
        break
      }
      guard chmod(full, mode) == 0, lchown(full, expected.uid, expected.gid) == 0 else {
        throw GeneratorError("chmod/chown \(full): \(String(cString: strerror(errno)))")
      }
    }
    var options = BuildOptions()
    if zlib {
      options.deflate = .zlib
      options.byteOrder = .big
      options.padsBootSector = true
    }
    let expected = try buildImage(real.source, options, name: "devtable-real")
    options.deviceTable = try SampleTable.table()
    let actual = try buildImage(withTable.source, options, name: "devtable-table")
    #expect(actual == expected, "\(firstDifference(actual, expected))")
    if zlib {
      // And util-linux mkfs.cramfs agrees on the real tree, so the table's image is its image too.
      let reference = try referenceImage(real.source, ["-N", "big", "-p"])
      #expect(actual == reference, "\(firstDifference(actual, reference))")
    }
  }

  @Test(
    "malformed tables name the line and the problem",
    arguments: [
      ("/dev/x  q 600 0 0 1 1 - - -", "unknown type 'q'"),
      ("/dev/x  c 6a0 0 0 1 1 - - -", "mode '6a0' is not an octal number"),
      ("/dev/x  c 680 0 0 1 1 - - -", "mode '680' is not an octal number"),
      ("/dev/x  c 17777 0 0 1 1 - - -", "bits beyond 7777"),
      ("/dev/x  c 600 0 0 1 1", "7 columns; a device table line has 10"),
      ("/dev/x  c 600 0 0 1 1 - - - extra", "11 columns"),
      ("dev/x   c 600 0 0 1 1 - - -", "not an absolute path"),
      ("/dev/../x c 600 0 0 1 1 - - -", "'..' component"),
      ("/dev/x  c 600 x 0 1 1 - - -", "uid 'x' is not a decimal number"),
      ("/dev/x  c 600 0 0 1 99999999999 - - -", "minor '99999999999' is too large"),
      ("/dev/x  p 600 0 0 - - 0 1 4", "count applies only to c and b lines"),
      ("/       c 600 0 0 1 1 - - -", "only a d line can name it"),
    ])
  func malformedLines(line: String, problem: String) throws {
    let text = "# header\n/dev d 755 0 0 - - - - -\n\(line)\n/dev/y c 600 0 0 1 2 - - -\n"
    let error = caught { _ = try DeviceTable(parsing: Array(text.utf8), source: "devices.txt") }
    let message = try #require(error).message
    #expect(message.hasPrefix("devices.txt:3: "), "\(message)")
    #expect(message.contains(problem), "\(message)")
    #expect(error?.code == .invalidArgument)
  }

  @Test(
    "tables that do not fit the tree name the line and leave no output",
    arguments: [
      ("/etc/missing f 600 0 0 - - - - -", "/etc/missing does not exist", CramfsError.Code.notFound),
      ("/nodir/x c 600 0 0 1 1 - - -", "parent directory /nodir", .notFound),
      ("/etc/passwd c 600 0 0 1 1 - - -", "/etc/passwd is a regular file", .wrongType),
      ("/etc/passwd/x p 600 0 0 - - - - -", "/etc/passwd is a regular file, not a directory", .wrongType),
      (
        "/dev/" + String(repeating: "n", count: 252) + " c 600 0 0 1 1 9 1 2",
        "name is 253 bytes; the limit is 252", .limitExceeded
      ),
    ])
  func linesThatDoNotFit(line: String, problem: String, code: CramfsError.Code) throws {
    let scratch = try TableScratch("devtable-bad")
    defer { scratch.remove() }
    try scratch.makePlainTree()
    var options = BuildOptions()
    options.deviceTable = try DeviceTable(
      parsing: Array("\n/dev/ok c 600 0 0 1 1 - - -\n\(line)\n".utf8), source: "t.txt")
    let error = caught {
      try ImageBuilder.build(from: scratch.source, to: scratch.image, options: options)
    }
    let message = try #require(error).message
    #expect(message.hasPrefix("t.txt:3: "), "\(message)")
    #expect(message.contains(problem), "\(message)")
    #expect(error?.code == code)
    #expect(try scratch.outputFiles().isEmpty)
  }

  @Test("a table replaces a node's owner and device number, with the usual warnings")
  func replacesAndWarns() throws {
    let scratch = try TableScratch("devtable-warn")
    defer { scratch.remove() }
    try scratch.makePlainTree()
    var options = BuildOptions()
    options.deviceTable = try DeviceTable(
      parsing: Array(
        """
        /dev/big c 600 70000 300 300 2 - - -
        /dev/big c 640 1 2 7 8 - - -
        /dev/wide b 600 0 0 1 256 - - -
        / d 700 5 6 - - - - -
        """.utf8), source: "w.txt")
    let report = try ImageBuilder.build(from: scratch.source, to: scratch.image, options: options)
    // The second /dev/big line replaces the first, and its warnings with it.
    #expect(report.warnings.map(\.kind) == [.deviceTruncated], "\(report.warnings)")
    #expect(report.warnings.first?.message.contains("w.txt:3") == true)
    let image = try CramfsImage(path: scratch.image)
    let big = image.stat(try image.lookup("/dev/big"))
    #expect(big.mode == UInt32(FileType.characterDevice.rawValue | 0o640))
    #expect(big.uid == 1 && big.gid == 2 && big.device == DeviceNumber(major: 7, minor: 8))
    #expect(image.superblock.root.uid == 5 && image.superblock.root.gid == 6)
    #expect(image.superblock.root.mode == FileType.directory.rawValue | 0o700)

    options.warningsAreErrors = true
    try? FileManager.default.removeItem(atPath: scratch.image)
    let error = caught {
      try ImageBuilder.build(from: scratch.source, to: scratch.image, options: options)
    }
    #expect(error?.message.contains("does not fit 8-bit major and minor") == true)
    #expect(try scratch.outputFiles().isEmpty)
  }

  @Test("a table replaces the scan's truncation warnings of what it changes, and a repeated series' own")
  func replacesScannedAndRepeatedWarnings() throws {
    var assembler = TreeAssembler(options: BuildOptions())
    try assembler.add(InputEntry(path: Array("dev".utf8), type: .directory, permissions: 0o755, uid: 0, gid: 0))
    for name in ["wide", "kept"] {
      try assembler.add(
        InputEntry(path: Array("dev/\(name)".utf8), type: .characterDevice, permissions: 0o600, uid: 70_000, gid: 0,
          device: DeviceNumber(major: 1, minor: 3)))
    }
    var tree = assembler.finish()
    #expect(tree.warnings.map(\.kind) == [.uidTruncated, .uidTruncated], "\(tree.warnings)")
    // /dev/wide gets a small owner; a series of 300 devices with a major over 255 comes twice, the second
    // time over the entries the first made.
    try tree.apply(
      DeviceTable(
        parsing: Array(
          """
          /dev/wide c 600 1 1 1 3 - - -
          /dev/s c 600 0 0 300 0 0 1 300
          /dev/s c 640 0 0 301 0 0 1 300
          """.utf8), source: "r.txt"))
    let kept = tree.warnings.filter { $0.kind == .uidTruncated }
    #expect(kept.map(\.path).count == 1 && kept.first?.path.hasSuffix("dev/kept") == true, "\(kept)")
    let devices = tree.warnings.filter { $0.kind == .deviceTruncated }
    #expect(devices.count == 300)
    #expect(devices.allSatisfy { $0.message.contains("r.txt:3") }, "\(devices.prefix(2))")
    #expect(Set(devices.map(\.path)).count == 300)
  }

  @Test("squashed owners leave the table's owners alone; blank lines and comments are skipped")
  func squashAndComments() throws {
    let table = try DeviceTable(
      parsing: Array("\r\n   # indented comment\n\t\n/dev/null c 666 3 4 1 3 - - - # trailing\n".utf8),
      source: "s.txt")
    #expect(table.lines.count == 1)
    #expect(table.lines.first?.number == 4)
    let scratch = try TableScratch("devtable-squash")
    defer { scratch.remove() }
    try scratch.makePlainTree()
    var options = BuildOptions()
    options.squashOwners = true
    options.deviceTable = table
    try ImageBuilder.build(from: scratch.source, to: scratch.image, options: options)
    let image = try CramfsImage(path: scratch.image)
    let null = image.stat(try image.lookup("/dev/null"))
    #expect(null.uid == 3 && null.gid == 4 && null.device == DeviceNumber(major: 1, minor: 3))
  }
}
