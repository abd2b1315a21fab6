import CramfsTestSupport
import Foundation
import Testing

@testable import Cramfs

#if canImport(Glibc)
  import Glibc
#endif

/// A scratch directory with a source tree under `src`; removed by `remove()`.
private struct Scratch {
  let path: String
  init(_ name: String) throws { path = try makeTemporaryDirectory(name) }
  var source: String { path + "/src" }
  var image: String { path + "/out/image.cramfs" }
  func prepare() throws {
    try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
    try FileManager.default.createDirectory(
      atPath: path + "/out", withIntermediateDirectories: true)
  }
  /// Everything in the output directory (no image and no temporary file may remain after an error).
  func outputFiles() throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: path + "/out")
  }
  func write(_ relative: String, _ bytes: [UInt8]) {
    _ = FileManager.default.createFile(atPath: source + "/" + relative, contents: Data(bytes))
  }
  func remove() { removeTree(path) }
}

@Suite("Builder behaviour")
struct BuilderBehaviourTests {
  @Test("same bytes for --jobs 1 and --jobs 4", arguments: [false, true])
  func jobsDoNotChangeOutput(extended: Bool) throws {
    let tree = BuilderFixtures.shared.tree(.generatedB)
    var options = BuildOptions()
    if extended {
      options.holes = true
      options.storeIncompressibleBlocks = true
      options.blockSize = 16384
    }
    options.jobs = 1
    let serial = try buildImage(tree.root, options)
    options.jobs = 4
    let parallel = try buildImage(tree.root, options)
    #expect(serial == parallel, "\(firstDifference(serial, parallel)); \(tree.replayHint)")
    options.jobs = 3
    options.deflate = .zlib
    options.level = 6
    let zlibParallel = try buildImage(tree.root, options)
    options.jobs = 1
    let zlibSerial = try buildImage(tree.root, options)
    #expect(
      zlibSerial == zlibParallel, "\(firstDifference(zlibSerial, zlibParallel)); \(tree.replayHint)"
    )
  }

  @Test("identical data is shared only between entries of the same type, mode and owner")
  func deduplicationRespectsModeAndOwner() throws {
    let scratch = try Scratch("dedup")
    defer { scratch.remove() }
    let seed = TestSeed.value(7)
    var generatorOptions = TreeGenerator.Options()
    generatorOptions.byteExactSafe = false
    generatorOptions.randomFiles = 5
    var generator = TreeGenerator(seed: seed, options: generatorOptions)
    let tree = try generator.generate(at: scratch.source)
    try FileManager.default.createDirectory(
      atPath: scratch.path + "/out", withIntermediateDirectories: true)
    let report = try ImageBuilder.build(from: tree.root, to: scratch.image, options: BuildOptions())
    let (_, entries) = try imageEntries(try readBytes(scratch.image))
    let byPath = Dictionary(uniqueKeysWithValues: entries.map { ($0.path, $0.inode) })
    for index in 0..<3 {
      let a = try #require(byPath["/dups/a-\(index)"])
      let b = try #require(byPath["/dups/nested/b-\(index)"])
      let copy = try #require(byPath["/zz-copy-\(index)"])
      let exec = try #require(byPath["/dups/exec-\(index)"])
      let owned = try #require(byPath["/dups/owned-\(index)"])
      #expect(
        a.offsetWords == b.offsetWords && a.offsetWords == copy.offsetWords, "\(tree.replayHint)")
      #expect(
        exec.offsetWords != a.offsetWords, "different mode must not share data; \(tree.replayHint)")
      #expect(
        owned.offsetWords != a.offsetWords,
        "different owner must not share data; \(tree.replayHint)")
      #expect(exec.offsetWords != owned.offsetWords, "\(tree.replayHint)")
    }
    let link = try #require(byPath["/dups/link-with-same-bytes"])
    let file = try #require(byPath["/dups/looks-like-link"])
    #expect(link.offsetWords != file.offsetWords, "a symlink must not share a file's data")
    #expect(
      try #require(byPath["/links/same-1"]).offsetWords == byPath["/links/same-2"]?.offsetWords)
    #expect(report.deduplicatedFiles == (try expectedDuplicates(tree.root)), "\(tree.replayHint)")
  }

  /// Files and symlinks that have an identical earlier twin of the same mode and owner, counted from the tree.
  private func expectedDuplicates(_ root: String) throws -> Int {
    var seen: Set<[UInt8]> = []
    var duplicates = 0
    func visit(_ path: String) throws {
      var info = stat()
      guard lstat(path, &info) == 0 else { throw GeneratorError("lstat \(path)") }
      let type = info.st_mode & S_IFMT
      if type == S_IFDIR {
        for name in try FileManager.default.contentsOfDirectory(atPath: path) {
          try visit(path + "/" + name)
        }
        return
      }
      guard (type == S_IFREG || type == S_IFLNK) && info.st_size > 0 else { return }
      let data =
        type == S_IFLNK
        ? Array(try FileManager.default.destinationOfSymbolicLink(atPath: path).utf8)
        : try readBytes(path)
      let key = Array("\(info.st_mode) \(info.st_uid & 0xFFFF) \(info.st_gid & 0xFF) ".utf8) + data
      if !seen.insert(key).inserted { duplicates += 1 }
    }
    try visit(root)
    return duplicates
  }

  @Test("images pass fsck.cramfs and extract to the source tree", arguments: [false, true])
  func fsckExtractionEqualsSource(squash: Bool) throws {
    let scratch = try Scratch("fsck")
    defer { scratch.remove() }
    var generatorOptions = TreeGenerator.Options()
    // Cross-mode duplicates too: each must keep its own mode.
    generatorOptions.byteExactSafe = false
    generatorOptions.maxRandomSize = 60_000
    var generator = TreeGenerator(seed: TestSeed.value(99), options: generatorOptions)
    let tree = try generator.generate(at: scratch.source)
    try FileManager.default.createDirectory(
      atPath: scratch.path + "/out", withIntermediateDirectories: true)
    var options = BuildOptions()  // libdeflate, default level
    options.squashOwners = squash
    let report = try ImageBuilder.build(from: tree.root, to: scratch.image, options: options)
    #expect(report.flags.rawValue <= 0xFF)
    let extracted = scratch.path + "/extracted"
    let result = try runProcess("/usr/sbin/fsck.cramfs", ["--extract=" + extracted, scratch.image])
    #expect(result.status == 0, "fsck.cramfs: \(result.standardError); \(tree.replayHint)")
    var expected = try snapshotTree(tree.root, squashOwners: squash)
    var actual = try snapshotTree(extracted)
    // fsck.cramfs gives the extracted root its own mode and owner; compare the entries below it.
    expected["/"] = nil
    actual["/"] = nil
    let differences = snapshotDifferences(expected, actual)
    #expect(
      differences.isEmpty, "\(differences.prefix(10).joined(separator: "\n")); \(tree.replayHint)")
  }

  @Test("-x stores incompressible blocks verbatim, sets 0x800, and reads back equal to the source")
  func storeIncompressible() throws {
    let scratch = try Scratch("store")
    defer { scratch.remove() }
    try scratch.prepare()
    var random = SeededGenerator(seed: TestSeed.value(5))
    let noise = random.bytes(3 * 4096 + 100)
    let text = [UInt8](repeating: UInt8(ascii: "a"), count: 9000)
    scratch.write("noise", noise)
    scratch.write("text", text)
    var options = BuildOptions()
    options.storeIncompressibleBlocks = true
    let report = try ImageBuilder.build(from: scratch.source, to: scratch.image, options: options)
    #expect(report.uncompressedBlocks == 4)
    #expect(report.flags.contains(.extendedBlockPointers))
    let image = try CramfsImage(path: scratch.image, blockSize: 4096)
    #expect(try image.contents(of: image.lookup("/noise")) == noise)
    #expect(try image.contents(of: image.lookup("/text")) == text)
    let kinds = try image.blockLocations(of: image.lookup("/noise")).map(\.kind)
    #expect(kinds == [.uncompressed, .uncompressed, .uncompressed, .uncompressed])
    // fsck.cramfs knows only flags up to 0xff.
    let fsck = try runProcess("/usr/sbin/fsck.cramfs", [scratch.image])
    #expect(fsck.status != 0)

    // Without incompressible data, -x changes nothing.
    try FileManager.default.removeItem(atPath: scratch.source + "/noise")
    let withX = try buildImage(scratch.source, options)
    let withoutX = try buildImage(scratch.source, BuildOptions())
    #expect(withX == withoutX)
  }

  @Test("holes read back as zeros")
  func holesReadBack() throws {
    let scratch = try Scratch("holes")
    defer { scratch.remove() }
    try scratch.prepare()
    let content = Array("head".utf8) + [UInt8](repeating: 0, count: 3 * 4096) + Array("tail".utf8)
    scratch.write("sparse", content)
    var options = BuildOptions()
    options.holes = true
    let report = try ImageBuilder.build(from: scratch.source, to: scratch.image, options: options)
    #expect(report.holeBlocks == 2)
    #expect(report.flags.contains(.holes))
    let image = try CramfsImage(path: scratch.image, blockSize: 4096)
    #expect(try image.contents(of: image.lookup("/sparse")) == content)
  }

  // MARK: - Limits: errors naming the path, no output file

  private func expectFailure(
    _ scratch: Scratch, options: BuildOptions = BuildOptions(), code: CramfsError.Code,
    pathSuffix: String?,
    sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    // A previous image at the destination must survive a failed build untouched.
    _ = FileManager.default.createFile(atPath: scratch.image, contents: Data("old".utf8))
    let error = #expect(throws: CramfsError.self, sourceLocation: sourceLocation) {
      try ImageBuilder.build(from: scratch.source, to: scratch.image, options: options)
    }
    #expect(error?.code == code, "\(String(describing: error))", sourceLocation: sourceLocation)
    if let pathSuffix {
      #expect(
        error?.path?.hasSuffix(pathSuffix) == true, "\(String(describing: error))",
        sourceLocation: sourceLocation)
    }
    #expect(try scratch.outputFiles() == ["image.cramfs"], sourceLocation: sourceLocation)
    #expect(try readBytes(scratch.image) == Array("old".utf8), sourceLocation: sourceLocation)
  }

  @Test("a file of 16 MiB is an error")
  func fileTooLarge() throws {
    let scratch = try Scratch("big")
    defer { scratch.remove() }
    try scratch.prepare()
    scratch.write("ok", [1, 2, 3])
    scratch.write("huge", [])
    #expect(truncate(scratch.source + "/huge", 1 << 24) == 0)
    try expectFailure(scratch, code: .limitExceeded, pathSuffix: "/huge")
    // One byte less fits.
    #expect(truncate(scratch.source + "/huge", (1 << 24) - 1) == 0)
    try FileManager.default.removeItem(atPath: scratch.image)
    let report = try ImageBuilder.build(
      from: scratch.source, to: scratch.image, options: BuildOptions())
    #expect(report.blocks == 4096 + 1)
  }

  @Test("a 253-byte name is an error")
  func nameTooLong() throws {
    let scratch = try Scratch("name")
    defer { scratch.remove() }
    try scratch.prepare()
    let name = String(repeating: "n", count: 253)
    scratch.write(name, [1])
    try expectFailure(scratch, code: .limitExceeded, pathSuffix: name)
  }

  @Test("a symlink target of a block or more is an error")
  func longSymlink() throws {
    // Linux cannot make a target of more than 4095 bytes, so the check is tested directly.
    #expect(throws: CramfsError.self) {
      try SourceTree.checkLinkTarget(length: 4096, blockSize: 4096, path: "/l")
    }
    try SourceTree.checkLinkTarget(length: 4095, blockSize: 4096, path: "/l")
    #expect(throws: CramfsError.self) {
      try SourceTree.checkLinkTarget(length: 16384, blockSize: 16384, path: "/l")
    }
  }

  @Test(
    "unsupported block sizes are rejected", arguments: [0, 512, 1024, 8192, 32768, 131072, 4095])
  func badBlockSize(blockSize: Int) throws {
    let scratch = try Scratch("bs")
    defer { scratch.remove() }
    try scratch.prepare()
    scratch.write("f", [1])
    var options = BuildOptions()
    options.blockSize = blockSize
    try expectFailure(scratch, options: options, code: .invalidArgument, pathSuffix: nil)
  }

  @Test("a volume name over 16 bytes is rejected")
  func longVolumeName() throws {
    var options = BuildOptions()
    options.volumeName = Array("seventeen-bytes-x".utf8)
    #expect(throws: CramfsError.self) { try options.validate() }
  }

  @Test("a directory with more than 2^24 - 1 bytes of entries is an error")
  func directoryTooLarge() throws {
    let name = [UInt8](repeating: UInt8(ascii: "n"), count: 252)
    let entryBytes = Inode.encodedSize + 252
    let count = Int(Inode.maxSize) / entryBytes + 1
    var entries = [
      SourceEntry(
        name: [], pathBytes: Array("/root".utf8), type: .directory, mode: 0o40755, uid: 0, gid: 0,
        dataSize: 0)
    ]
    entries[0].children = Array(1...count)
    for _ in 0..<count {
      entries.append(
        SourceEntry(
          name: name, pathBytes: [], type: .fifo, mode: 0o10644, uid: 0, gid: 0, dataSize: 0))
    }
    let tree = SourceTree(entries: entries, warnings: [])
    let error = #expect(throws: CramfsError.self) {
      try ImageLayout.plan(
        tree: tree, duplicateOf: Array(repeating: nil, count: entries.count),
        options: BuildOptions(), insertedFileSize: 0)
    }
    #expect(error?.code == .limitExceeded && error?.path == "/root")
  }

  @Test("directories starting past 256 MiB are an error")
  func directoryPastOffsetLimit() throws {
    let entries = [
      SourceEntry(
        name: [], pathBytes: Array("/root".utf8), type: .directory, mode: 0o40755, uid: 0, gid: 0,
        dataSize: 0,
        children: [1, 2]),
      SourceEntry(
        name: Array("sub".utf8), pathBytes: Array("/root/sub".utf8), type: .directory,
        mode: 0o40755, uid: 0, gid: 0, dataSize: 0,
        children: [3]),
      SourceEntry(
        name: Array("x".utf8), pathBytes: [], type: .fifo, mode: 0o10644, uid: 0, gid: 0,
        dataSize: 0),
      SourceEntry(
        name: Array("y".utf8), pathBytes: [], type: .fifo, mode: 0o10644, uid: 0, gid: 0,
        dataSize: 0),
    ]
    let tree = SourceTree(entries: entries, warnings: [])
    let error = #expect(throws: CramfsError.self) {
      try ImageLayout.plan(
        tree: tree, duplicateOf: [nil, nil, nil, nil], options: BuildOptions(),
        insertedFileSize: Inode.offsetLimit - Superblock.encodedSize - 16)
    }
    #expect(error?.code == .limitExceeded && error?.path == "/root/sub")
  }

  @Test("data starting past 256 MiB is an error naming the file")
  func dataPastOffsetLimit() throws {
    let scratch = try Scratch("offset")
    defer { scratch.remove() }
    try scratch.prepare()
    var random = SeededGenerator(seed: 3)
    scratch.write("a-first", random.bytes(20_000))
    scratch.write("b-second", random.bytes(10))
    // A sparse inserted file pushes the data area to just below 256 MiB.
    let insert = scratch.path + "/insert"
    _ = FileManager.default.createFile(atPath: insert, contents: nil)
    #expect(truncate(insert, off_t(Inode.offsetLimit - 8192)) == 0)
    var options = BuildOptions()
    options.insertedFile = insert
    try expectFailure(scratch, options: options, code: .limitExceeded, pathSuffix: "/b-second")
  }

  @Test("a file that cannot be read after the scan is an error naming it, and leaves no image")
  func unreadableFile() throws {
    // Root reads every mode, so the file disappears between the scan and the data pass instead.
    let scratch = try Scratch("unreadable")
    defer { scratch.remove() }
    try scratch.prepare()
    var random = SeededGenerator(seed: 11)
    scratch.write("a", random.bytes(50_000))
    scratch.write("b", random.bytes(70_000))
    for jobs in [1, 2] {
      var options = BuildOptions()
      options.jobs = jobs
      let tree = try SourceTree.scan(scratch.source, options: options)
      try FileManager.default.moveItem(
        atPath: scratch.source + "/b", toPath: scratch.path + "/b-moved")
      defer {
        try? FileManager.default.moveItem(
          atPath: scratch.path + "/b-moved", toPath: scratch.source + "/b")
      }
      let duplicates = try Deduplicator.findDuplicates(in: tree)
      let layout = try ImageLayout.plan(
        tree: tree, duplicateOf: duplicates, options: options, insertedFileSize: 0)
      var report = BuildReport()
      let error = #expect(throws: CramfsError.self) {
        try ImageWriter(tree: tree, layout: layout, options: options, insertedFileSize: 0)
          .write(to: scratch.image, report: &report)
      }
      #expect(
        error?.code == .io && error?.path?.hasSuffix("/src/b") == true,
        "\(String(describing: error))")
      #expect(try scratch.outputFiles().isEmpty)
    }
  }

  @Test("a destination that is a directory or a device node is refused before any work")
  func nonRegularDestination() throws {
    let scratch = try Scratch("dest")
    defer { scratch.remove() }
    try scratch.prepare()
    scratch.write("f", [1, 2, 3])
    let device = scratch.path + "/out/null"
    #expect(mknod(device, S_IFCHR | 0o666, makeDevice(major: 1, minor: 3)) == 0)
    for destination in [scratch.path + "/out", device] {
      let error = #expect(throws: CramfsError.self) {
        try ImageBuilder.build(from: scratch.source, to: destination, options: BuildOptions())
      }
      #expect(error?.code == .invalidArgument)
    }
    #expect(try scratch.outputFiles() == ["null"])
    var info = stat()
    #expect(lstat(device, &info) == 0 && info.st_mode & S_IFMT == S_IFCHR)
  }

  // MARK: - Warnings

  @Test("truncated owners and device numbers are warnings, and errors with -E")
  func truncationWarnings() throws {
    let scratch = try Scratch("warn")
    defer { scratch.remove() }
    try scratch.prepare()
    scratch.write("uid", [1])
    scratch.write("gid", [2])
    #expect(chown(scratch.source + "/uid", 70000, 0) == 0)
    #expect(chown(scratch.source + "/gid", 0, 1000) == 0)
    #expect(mknod(scratch.source + "/dev", S_IFCHR | 0o600, makeDevice(major: 300, minor: 2)) == 0)
    #expect(mknod(scratch.source + "/dev2", S_IFBLK | 0o600, makeDevice(major: 1, minor: 256)) == 0)
    let report = try ImageBuilder.build(
      from: scratch.source, to: scratch.image, options: BuildOptions())
    let kinds = report.warnings.map { "\($0.kind):\($0.path.split(separator: "/").last ?? "")" }
      .sorted()
    #expect(
      kinds == [
        "deviceTruncated:dev", "deviceTruncated:dev2", "gidTruncated:gid", "uidTruncated:uid",
      ])
    let (_, entries) = try imageEntries(try readBytes(scratch.image))
    let byPath = Dictionary(uniqueKeysWithValues: entries.map { ($0.path, $0.inode) })
    #expect(byPath["/uid"]?.uid == UInt16(70000 & 0xFFFF))
    #expect(byPath["/gid"]?.gid == UInt8(1000 & 0xFF))

    var strict = BuildOptions()
    strict.warningsAreErrors = true
    try FileManager.default.removeItem(atPath: scratch.image)
    #expect(throws: CramfsError.self) {
      try ImageBuilder.build(from: scratch.source, to: scratch.image, options: strict)
    }
    #expect(try scratch.outputFiles().isEmpty)

    // Squashed owners leave only the device warnings.
    var squash = BuildOptions()
    squash.squashOwners = true
    let squashed = try ImageBuilder.build(from: scratch.source, to: scratch.image, options: squash)
    #expect(squashed.warnings.map(\.kind) == [.deviceTruncated, .deviceTruncated])
  }

  // MARK: - Command line

  @Test("mkcramfs and cramfs make: exit 0 / 8 / 16, warnings on stderr")
  func commandLineExitCodes() throws {
    let bin = builtProductsDirectory()
    let mkcramfs = bin + "/mkcramfs"
    let cramfs = bin + "/cramfs"
    try #require(
      FileManager.default.isExecutableFile(atPath: mkcramfs), "build the products first (\(bin))")
    let scratch = try Scratch("cli")
    defer { scratch.remove() }
    try scratch.prepare()
    scratch.write("f", Array("hello".utf8))
    #expect(chown(scratch.source + "/f", 0, 1000) == 0)

    let ok = try runProcess(mkcramfs, ["-N", "big", "-z", scratch.source, scratch.image])
    #expect(ok.status == 0, "\(ok.standardError)")
    #expect(ok.standardError.contains("warning:") && ok.standardError.contains("gid 1000"))
    let reference = try referenceImage(scratch.source, ["-N", "big", "-z"])
    let zlib = try runProcess(
      cramfs,
      ["make", "--deflate", "zlib", "--level", "6", "-B", "-z", scratch.source, scratch.image])
    #expect(zlib.status == 0)
    #expect(try readBytes(scratch.image) == reference)

    let strict = try runProcess(mkcramfs, ["-E", scratch.source, scratch.path + "/out/strict"])
    #expect(strict.status == 8)
    #expect(!FileManager.default.fileExists(atPath: scratch.path + "/out/strict"))

    for tool in [[mkcramfs], [cramfs, "make"]] {
      let badSize = try runProcess(
        tool[0], Array(tool.dropFirst()) + ["-b", "8192", scratch.source, scratch.path + "/out/x"])
      #expect(badSize.status == 16, "\(tool): \(badSize.standardError)")
      #expect(badSize.standardError.contains("block size 8192"))
      let badOrder = try runProcess(
        tool[0],
        Array(tool.dropFirst()) + ["-N", "middle", scratch.source, scratch.path + "/out/x"])
      #expect(badOrder.status == 16)
      let missing = try runProcess(
        tool[0], Array(tool.dropFirst()) + [scratch.path + "/nope", scratch.path + "/out/x"])
      #expect(missing.status == 8)
      #expect(!FileManager.default.fileExists(atPath: scratch.path + "/out/x"))
    }
    let unknown = try runProcess(mkcramfs, ["--bogus", scratch.source, scratch.path + "/out/x"])
    #expect(unknown.status == 16)
    let noArguments = try runProcess(mkcramfs, [])
    #expect(noArguments.status == 16)
  }
}
