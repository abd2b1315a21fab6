import Cramfs
import CramfsTestSupport
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// `cramfs diff A B` between images, directories and tar archives: equal trees exit 0 with nothing printed,
/// each difference is one line naming the path and what differs, exit 1.
@Suite("diff")
struct DiffTests {
  @Test func treesImagesAndArchivesCompare() throws {
    let root = try makeTemporaryDirectory("diff")
    defer { removeTree(root) }
    let tree = root + "/tree"
    try FileManager.default.createDirectory(atPath: tree + "/etc", withIntermediateDirectories: true)
    var rng = SeededGenerator(seed: 4)
    for (name, bytes) in [("etc/passwd", Array("root:x:0:0\n".utf8)), ("etc/group", Array("root:x:0:\n".utf8)), ("big", rng.bytes(50_000))] {
      guard FileManager.default.createFile(atPath: tree + "/" + name, contents: Data(bytes)) else { throw GeneratorError("cannot write \(name)") }
    }
    try FileManager.default.createSymbolicLink(atPath: tree + "/link", withDestinationPath: "big")
    let image = root + "/image"
    _ = try ImageBuilder.build(from: tree, to: image, options: BuildOptions())
    _ = try CLI.succeed(["extract", image, "--tar", root + "/image.tar"])

    // The same tree three ways: no output, exit 0.
    for (a, b) in [(tree, image), (image, root + "/image.tar"), (root + "/image.tar", tree)] {
      let same = try CLI.run(["diff", a, b])
      #expect(same.status == 0 && same.standardOutput.isEmpty, "\(a) vs \(b): \(same.standardOutput) \(same.standardError)")
    }

    // Change the tree: one line per path, in path order.
    let changed = root + "/changed"
    _ = try runProcess("/bin/cp", ["-a", tree, changed])
    var bytes = try readBytes(changed + "/big")
    bytes[40_000] ^= 1
    try Data(bytes).write(to: URL(fileURLWithPath: changed + "/big"))
    #expect(chmod(changed + "/etc/group", 0o600) == 0)
    #expect(unlink(changed + "/etc/passwd") == 0)
    #expect(unlink(changed + "/link") == 0 && symlink("etc", changed + "/link") == 0)
    #expect(mkdir(changed + "/new", 0o755) == 0)
    let result = try CLI.run(["diff", image, changed])
    #expect(result.status == 1)
    #expect(result.standardOutput == """
      /big: content differs
      /etc/group: mode 0644 vs 0600
      /etc/passwd: only in the first
      /link: target big vs etc
      /new: only in the second

      """, "\(result.standardOutput)")
    let json = try JSONSerialization.jsonObject(with: Data(try CLI.run(["diff", "--json", image, changed]).standardOutput.utf8)) as? [[String: Any]]
    #expect(json?.map { $0["path"] as? String } == ["/big", "/etc/group", "/etc/passwd", "/link", "/new"])
    // A missing input is one line and exit 8.
    try ErrorTests.expectOneLineError(["diff", image, root + "/missing"], status: 8, mentioning: ["missing"])
  }

  /// Owners, device numbers, types and sizes differ only where an archive can say so without root: two tar
  /// archives (made by Python's tarfile), compared with each other and with images built from them.
  @Test func ownersDevicesTypesAndSizesDiffer() throws {
    let root = try makeTemporaryDirectory("diff-kinds")
    defer { removeTree(root) }
    let script = """
      import io, sys, tarfile
      def archive(path, variant):
          with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
              def add(name, kind, data=b"", uid=0, major=0, minor=0):
                  info = tarfile.TarInfo(name)
                  info.type, info.mode, info.uid, info.gid, info.mtime = kind, 0o644, uid, 0, 0
                  info.devmajor, info.devminor = major, minor
                  info.size = len(data)
                  tar.addfile(info, io.BytesIO(data) if data else None)
              add("owned", tarfile.REGTYPE, b"same bytes", uid=1 if variant == "a" else 2)
              add("grows", tarfile.REGTYPE, b"12345" if variant == "a" else b"123456")
              add("dev", tarfile.CHRTYPE, major=1, minor=3 if variant == "a" else 5)
              if variant == "a":
                  add("kind", tarfile.DIRTYPE)
              else:
                  add("kind", tarfile.REGTYPE, b"now a file")
      archive(sys.argv[1], "a")
      archive(sys.argv[2], "b")
      """
    _ = try runProcess("/usr/bin/python3", ["-c", script, root + "/a.tar", root + "/b.tar"])
    let expected = """
      /dev: device 1:3 vs 1:5
      /grows: size 5 vs 6
      /kind: type directory vs regular file
      /owned: owner 1:0 vs 2:0

      """
    let archives = try CLI.run(["diff", root + "/a.tar", root + "/b.tar"])
    #expect(archives.status == 1)
    #expect(archives.standardOutput == expected, "\(archives.standardOutput)")
    // The same differences between the images built from the archives, and between image and archive.
    _ = try CLI.succeed(["make", root + "/a.tar", root + "/a.img"])
    _ = try CLI.succeed(["make", root + "/b.tar", root + "/b.img"])
    for (first, second) in [(root + "/a.img", root + "/b.img"), (root + "/a.img", root + "/b.tar")] {
      let result = try CLI.run(["diff", first, second])
      #expect(result.status == 1 && result.standardOutput == expected, "\(first) vs \(second): \(result.standardOutput)")
    }
    #expect(try CLI.run(["diff", root + "/b.img", root + "/b.tar"]).status == 0)
  }
}

