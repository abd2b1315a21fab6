import CramfsTestSupport
import Foundation
import Testing

@testable import Cramfs

#if canImport(Glibc)
  import Glibc
#endif

/// One tree made for real and its archives, shared by the tests below.
final class TarFixtures: Sendable {
  static let shared: TarFixtures? = {
    guard EveryTypeTree.canBeMade else { return nil }
    do { return try TarFixtures() } catch { fatalError("cannot make tar fixtures: \(error)") }
  }()

  let directory: String
  var tree: String { directory + "/tree" }
  func archive(_ kind: ArchiveKind) -> String { directory + "/archive-\(kind.rawValue)" }

  private init() throws {
    directory = try makeTemporaryDirectory("tar-input")
    try FileManager.default.createDirectory(atPath: directory + "/tree", withIntermediateDirectories: false)
    try EveryTypeTree.make(at: directory + "/tree")
    for kind in ArchiveKind.allCases { try kind.make(of: directory + "/tree", at: archive(kind)) }
  }
}

/// The option sets the tar path is compared under.
private let optionSets: [(String, @Sendable (inout BuildOptions) -> Void)] = [
  ("defaults", { _ in }),
  ("-N big -p", { $0.byteOrder = .big; $0.padsBootSector = true }),
  ("-b 65536 -z", { $0.blockSize = 65536; $0.holes = true }),
  ("--deflate zlib --level 6", { $0.deflate = .zlib; $0.level = 6 }),
]

@Suite("Tar input", .enabled(if: EveryTypeTree.canBeMade, "making device nodes and owners needs root"))
struct TarInputTests {
  @Test("tar of a tree gives the tree's image", arguments: ArchiveKind.allCases, optionSets.indices)
  func tarEqualsTree(kind: ArchiveKind, optionSet: Int) throws {
    let fixtures = try #require(TarFixtures.shared)
    var options = BuildOptions()
    optionSets[optionSet].1(&options)
    let scratch = try makeTemporaryDirectory("tar-eq")
    defer { removeTree(scratch) }
    let fromTree = try ImageBuilder.build(from: fixtures.tree, to: scratch + "/tree.img", options: options)
    let input = try ImageInputs.detect(fixtures.archive(kind))
    #expect(input is TarArchiveInput)
    let fromTar = try ImageBuilder.build(from: input, to: scratch + "/tar.img", options: options)
    let a = try readBytes(scratch + "/tree.img")
    let b = try readBytes(scratch + "/tar.img")
    #expect(a == b, "\(optionSets[optionSet].0): \(firstDifference(a, b))")
    #expect(fromTree.warnings == fromTar.warnings.map { warning in
      // Warnings name the host path from a tree and the image path from an archive.
      BuildWarning(kind: warning.kind, path: fixtures.tree + warning.path, message: warning.message)
    })
    #expect(try directoryListing(scratch) == ["tar.img", "tree.img"])
  }

  @Test("cramfs make - IMAGE reads the archive from standard input", arguments: [ArchiveKind.pax, .zstd])
  func standardInput(kind: ArchiveKind) throws {
    let fixtures = try #require(TarFixtures.shared)
    let cramfs = try #require(builtExecutable("cramfs"))
    let scratch = try makeTemporaryDirectory("tar-stdin")
    defer { removeTree(scratch) }
    try shell("\(cramfs) make \(fixtures.tree) \(scratch)/tree.img")
    let result = try shell(
      "\(cramfs) make - \(scratch)/stdin.img < \(fixtures.archive(kind)) && "
        + "cat \(fixtures.archive(kind)) | \(cramfs) make - \(scratch)/pipe.img")
    let tree = try readBytes(scratch + "/tree.img")
    #expect(try readBytes(scratch + "/stdin.img") == tree)
    #expect(try readBytes(scratch + "/pipe.img") == tree)
    // The device that does not fit 8-bit major/minor warns the same way from either input.
    #expect(result.standardErrorLines.allSatisfy { $0.contains("warning:") })
    #expect(try directoryListing(scratch) == ["pipe.img", "stdin.img", "tree.img"])
  }
}

/// Tar behaviour that needs no root: archives written by Python's tarfile module.
@Suite("Tar input rules")
struct TarInputRuleTests {
  /// Builds `entries` (a Python list of `(name, type, data-or-link)` tuples) through a tar archive and
  /// returns the report and the image's entries.
  private func build(_ entries: String, options: BuildOptions = BuildOptions()) throws
    -> (BuildReport, [ImageEntry])
  {
    let scratch = try makeTemporaryDirectory("tar-rules")
    defer { removeTree(scratch) }
    try writeArchive(entries, to: scratch + "/in.tar")
    let report = try ImageBuilder.build(
      from: TarArchiveInput(path: scratch + "/in.tar"), to: scratch + "/out.img", options: options)
    return (report, try imageEntries(try readBytes(scratch + "/out.img")).1)
  }

  @Test("missing parents are implied (0755, root); ./ and / are dropped")
  func impliedParents() throws {
    let (_, entries) = try build("[('./a/b/c', 'f', b'data', 0o600, 5, 6), ('/x/y', 'f', b'', 0o644, 0, 0)]")
    let byPath = Dictionary(uniqueKeysWithValues: entries.map { ($0.path, $0.inode) })
    #expect(entries.map(\.path) == ["/a", "/a/b", "/a/b/c", "/x", "/x/y"])
    #expect(byPath["/a"]?.mode == 0o40755 && byPath["/a"]?.uid == 0)
    #expect(byPath["/a/b/c"]?.mode == 0o100600 && byPath["/a/b/c"]?.uid == 5 && byPath["/a/b/c"]?.gid == 6)
  }

  @Test("a path given twice: the later entry wins, with a warning")
  func duplicate() throws {
    let (report, entries) = try build("[('x', 'f', b'first', 0o644, 0, 0), ('x', 'f', b'second!', 0o600, 0, 0)]")
    #expect(entries.count == 1 && entries[0].inode.size == 7 && entries[0].inode.mode == 0o100600)
    #expect(report.warnings.map(\.kind) == [.duplicatePath])
  }

  @Test("a file given where a directory was implied replaces it and what it held, with a warning")
  func fileReplacesImpliedDirectory() throws {
    let (report, entries) = try build("[('d/f', 'f', b'x', 0o644, 0, 0), ('d', 'f', b'file', 0o600, 0, 0)]")
    #expect(entries.map(\.path) == ["/d"] && entries[0].inode.size == 4)
    #expect(report.warnings.map(\.kind) == [.duplicatePath])
  }

  @Test("paths 1500 directories deep (3001 bytes) build: nothing recurses per level")
  func deepPaths() throws {
    let (_, entries) = try build("[('a/' * 1500 + 'f', 'f', b'deep', 0o644, 0, 0)]")
    #expect(entries.count == 1501 && entries.last?.inode.size == 4)
  }

  @Test("hard links share data, also to symlinks and devices")
  func hardLinks() throws {
    let (report, entries) = try build(
      "[('f', 'f', b'shared', 0o4755, 3, 4), ('g', 'h', 'f', 0o644, 0, 0), ('s', 's', 'f', 0o777, 0, 0), "
        + "('t', 'h', 's', 0o777, 0, 0)]")
    let byPath = Dictionary(uniqueKeysWithValues: entries.map { ($0.path, $0.inode) })
    #expect(byPath["/g"] == byPath["/f"] && byPath["/f"]?.mode == 0o104755 && byPath["/g"]?.uid == 3)
    #expect(byPath["/t"] == byPath["/s"] && byPath["/t"]?.fileType == .symlink)
    #expect(report.deduplicatedFiles == 2)
  }

  @Test("a directory given after its children keeps them and takes its own mode")
  func directoryAfterChildren() throws {
    let (report, entries) = try build("[('d/f', 'f', b'x', 0o644, 0, 0), ('d', 'd', None, 0o700, 9, 9)]")
    #expect(entries.map(\.path) == ["/d", "/d/f"])
    #expect(entries[0].inode.mode == 0o40700 && entries[0].inode.uid == 9)
    #expect(report.warnings.isEmpty)
  }

  @Test("a symlink pointing outside the tree is stored as given (it is only a string)")
  func escapingSymlink() throws {
    let (_, entries) = try build("[('l', 's', '../../../etc/passwd', 0o777, 0, 0)]")
    #expect(entries.count == 1 && entries[0].inode.size == 19)
  }

  @Test("--force-uid and --force-gid set every owner, implied parents included")
  func forcedOwners() throws {
    var options = BuildOptions()
    options.forcedUID = 1000
    options.forcedGID = 200
    let (_, entries) = try build("[('a/b', 'f', b'x', 0o644, 70000, 300)]", options: options)
    #expect(entries.allSatisfy { $0.inode.uid == 1000 && $0.inode.gid == 200 })
    options.forcedGID = 256
    #expect(throws: CramfsError.self) { try options.validate() }
  }

  @Test("a directory, a tar and a compressed tar are told apart by content, not name")
  func detection() throws {
    let scratch = try makeTemporaryDirectory("tar-detect")
    defer { removeTree(scratch) }
    try writeArchive("[('a', 'f', b'x', 0o644, 0, 0)]", to: scratch + "/image.cramfs")
    try shell("gzip -c \(scratch)/image.cramfs > \(scratch)/plain.tar; mkdir \(scratch)/dir.tar")
    #expect(try ImageInputs.detect(scratch + "/image.cramfs") is TarArchiveInput)
    #expect(try ImageInputs.detect(scratch + "/plain.tar") is TarArchiveInput)
    #expect(try ImageInputs.detect(scratch + "/dir.tar") is DirectoryInput)
    #expect(try ImageInputs.detect("-") is TarArchiveInput)
    // An image, padded or not, is an image; a tar holding one (its magic at 512) is a tar.
    try ImageBuilder.build(from: scratch + "/dir.tar", to: scratch + "/real.img", options: BuildOptions())
    var padded = BuildOptions()
    padded.padsBootSector = true
    try ImageBuilder.build(from: scratch + "/dir.tar", to: scratch + "/padded.img", options: padded)
    try shell("tar -C \(scratch) -cf \(scratch)/holds-an-image real.img && tar -C \(scratch) --format=pax -cf \(scratch)/pax-image padded.img")
    #expect(try ImageInputs.detect(scratch + "/real.img") is CramfsImageInput)
    #expect(try ImageInputs.detect(scratch + "/padded.img") is CramfsImageInput)
    #expect(try ImageInputs.detect(scratch + "/holds-an-image") is TarArchiveInput)
    #expect(try ImageInputs.detect(scratch + "/pax-image") is TarArchiveInput)
    let (report, entries) = try build("[('a', 'f', b'x', 0o644, 0, 0)]")
    #expect(report.regularFiles == 1 && entries.count == 1)
  }
}

/// Writes a tar archive of `entries` with Python's tarfile module (PAX format): each entry is
/// `(name, type, data, mode, uid, gid[, pax headers])` with type `f`, `d`, `s` (data is the link target),
/// `h` (hard link) or a raw type flag.
func writeArchive(_ entries: String, to path: String, format: String = "PAX_FORMAT") throws {
  let script = """
    import io, sys, tarfile
    types = {'f': tarfile.REGTYPE, 'd': tarfile.DIRTYPE, 's': tarfile.SYMTYPE, 'h': tarfile.LNKTYPE}
    with tarfile.open(sys.argv[1], 'w', format=tarfile.\(format)) as archive:
        for entry in \(entries):
            name, kind, data, mode, uid, gid = entry[:6]
            info = tarfile.TarInfo(name)
            if len(entry) > 6: info.pax_headers = entry[6]
            info.type = types.get(kind, kind.encode() if isinstance(kind, str) else kind)
            info.mode, info.uid, info.gid = mode, uid, gid
            if kind == 'f':
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
            else:
                if kind in ('s', 'h'): info.linkname = data
                archive.addfile(info)
    """
  try shell("python3 -c \(shellQuoted(script)) \(shellQuoted(path))")
}
