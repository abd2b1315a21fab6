import CramfsTestSupport
import Foundation
import Testing

@testable import Cramfs

/// The new options through the binaries: owners, usage errors, mkcramfs and a device table on a tar.
@Suite("Tar and image input on the command line")
struct TarCommandLineTests {
  @Test("--force-uid/--force-gid on cramfs make and mkcramfs; bad values are usage errors (16)")
  func forcedOwners() throws {
    let cramfs = try #require(builtExecutable("cramfs"))
    let mkcramfs = try #require(builtExecutable("mkcramfs"))
    let scratch = try makeTemporaryDirectory("tar-cli")
    defer { removeTree(scratch) }
    try writeArchive("[('a/b', 'f', b'x', 0o644, 1000, 100), ('c', 's', 'a/b', 0o777, 5, 5)]", to: scratch + "/in.tar")
    try shell("\(cramfs) make --force-uid 42 --force-gid 7 \(scratch)/in.tar \(scratch)/one.img")
    try shell("\(mkcramfs) --force-uid 42 --force-gid 7 \(scratch)/in.tar \(scratch)/two.img")
    #expect(try readBytes(scratch + "/one.img") == readBytes(scratch + "/two.img"))
    let entries = try imageEntries(try readBytes(scratch + "/one.img")).1
    #expect(entries.count == 3 && entries.allSatisfy { $0.inode.uid == 42 && $0.inode.gid == 7 })
    for bad in [["--force-uid", "65536"], ["--force-gid", "256"], ["--force-uid", "-1"]] {
      let result = try runProcess(cramfs, ["make"] + bad + [scratch + "/in.tar", scratch + "/bad.img"])
      #expect(result.status == 16, "\(bad): \(result.standardError)")
      #expect(!FileManager.default.fileExists(atPath: scratch + "/bad.img"))
    }
  }

  @Test("a device table applies to a tar's tree as to a directory's")
  func deviceTableOnTar() throws {
    let cramfs = try #require(builtExecutable("cramfs"))
    let scratch = try makeTemporaryDirectory("tar-cli-table")
    defer { removeTree(scratch) }
    try writeArchive("[('dev', 'd', None, 0o755, 0, 0), ('etc/passwd', 'f', b'root', 0o644, 0, 0)]", to: scratch + "/in.tar")
    try "/dev/console c 600 0 5 5 1 0 0 -\n/etc/passwd f 600 3 4 - - - - -\n".write(
      toFile: scratch + "/table", atomically: true, encoding: .utf8)
    try shell("\(cramfs) make -D \(scratch)/table \(scratch)/in.tar \(scratch)/out.img")
    let entries = try imageEntries(try readBytes(scratch + "/out.img")).1
    let byPath = Dictionary(uniqueKeysWithValues: entries.map { ($0.path, $0.inode) })
    #expect(byPath["/dev/console"]?.fileType == .characterDevice && byPath["/dev/console"]?.size == 0x501)
    #expect(byPath["/etc/passwd"]?.mode == 0o100600 && byPath["/etc/passwd"]?.uid == 3)
  }

  @Test("extract needs exactly one of DIR and --tar (usage error 16)")
  func extractArguments() throws {
    let cramfs = try #require(builtExecutable("cramfs"))
    let scratch = try makeTemporaryDirectory("tar-cli-extract")
    defer { removeTree(scratch) }
    try ImageBuilder.build(from: BuilderFixtures.shared.tree(.emptyRoot).root, to: scratch + "/i.img", options: BuildOptions())
    for arguments in [["extract", scratch + "/i.img"], ["extract", scratch + "/i.img", scratch + "/d", "--tar", scratch + "/x.tar"]] {
      let result = try runProcess(cramfs, arguments)
      #expect(result.status == 16 && result.standardErrorLines.count == 1, "\(result.standardError)")
    }
    let empty = try runProcess(cramfs, ["extract", scratch + "/i.img", "--tar", "-"])
    #expect(empty.status == 0 && empty.standardOutputData.count == 1536)  // "./" and the end blocks
  }
}
