import CramfsTestSupport
import Foundation
import Testing

@testable import Cramfs

/// An archive `cramfs make` must refuse: one line naming the entry, exit 8, nothing left behind.
struct HostileArchive: Sendable, CustomTestStringConvertible {
  var name: String
  /// Text the error line must contain (the entry, or what is wrong).
  var expected: String
  /// Makes the archive at the path given (shell, with `$1` the path and `$W` a scratch directory).
  var script: String

  var testDescription: String { name }

  /// Python that writes entries with `writeArchive`'s conventions.
  static func python(_ name: String, _ expected: String, _ entries: String, format: String = "PAX_FORMAT")
    -> HostileArchive
  {
    HostileArchive(name: name, expected: expected, script: "PYTHON:\(format):\(entries)")
  }

  /// A valid archive of a 200 KB random file, compressed with `tool`, cut to half its size.
  static func truncated(_ tool: String) -> HostileArchive {
    HostileArchive(
      name: "truncated \(tool)", expected: "",
      script: "mkdir -p $W/t && head -c 200000 /dev/urandom > $W/t/payload && "
        + "tar -C $W/t -cf - . | \(tool) -c > $W/full && head -c $(($(stat -c %s $W/full) / 2)) $W/full > $1")
  }

  /// A valid archive of compressible text, compressed with `tool`, with one byte flipped at `offset`.
  static func corrupt(_ tool: String, at offset: Int) -> HostileArchive {
    HostileArchive(
      name: "corrupt \(tool) stream", expected: "",
      script: "mkdir -p $W/t && yes cramfs | head -c 200000 > $W/t/payload && tar -C $W/t -cf - . | \(tool) -c > $W/full"
        + " && python3 -c \"import sys; b = bytearray(open(sys.argv[1], 'rb').read()); b[\(offset)] ^= 0xff; "
        + "open(sys.argv[2], 'wb').write(b)\" $W/full $1")
  }

  static let all: [HostileArchive] = [
    python("dot-dot component", "a/../b: path has a '..' component", "[('a/../b', 'f', b'x', 0o644, 0, 0)]"),
    python("leading dot-dot", "../escape: path has a '..' component", "[('../escape', 'f', b'x', 0o644, 0, 0)]"),
    python(
      "dot-dot in a hard link", "b: hard link target ../x: path has a '..' component",
      "[('a', 'f', b'x', 0o644, 0, 0), ('b', 'h', '../x', 0o644, 0, 0)]"),
    python(
      "file over 16 MiB", "big: file is 16777216 bytes",
      "[('big', 'f', bytes(16 << 20), 0o644, 0, 0)]"),
    python("300-byte name (PAX)", "name is 300 bytes", "[('d/' + 'n' * 300, 'f', b'x', 0o644, 0, 0)]"),
    python(
      "300-byte name (GNU long name)", "name is 300 bytes", "[('n' * 300, 'f', b'x', 0o644, 0, 0)]",
      format: "GNU_FORMAT"),
    python(
      "hard link to a missing target", "hard link to missing, which is not in the archive before it",
      "[('x', 'h', 'missing', 0o644, 0, 0)]"),
    python(
      "hard link to a directory", "hard link to the directory d",
      "[('d', 'd', None, 0o755, 0, 0), ('x', 'h', 'd', 0o644, 0, 0)]"),
    python(
      "entry under a file", "f/x: /f is a regular file, not a directory",
      "[('f', 'f', b'x', 0o644, 0, 0), ('f/x', 'f', b'y', 0o644, 0, 0)]"),
    python("root that is a file", "the root must be a directory", "[('.', 'f', b'x', 0o644, 0, 0)]"),
    python(
      "symlink target of a block", "l: symlink target is 4096 bytes",
      "[('l', 's', 'x' * 4096, 0o777, 0, 0)]"),
    python(
      "unsupported entry type (GNU multi-volume continuation)", "x: entry type unknown",
      "[('x', 'M', None, 0o644, 0, 0)]", format: "GNU_FORMAT"),
    python("path over PATH_MAX", "path is 5001 bytes; the limit is 4095", "[('d/' * 2500 + 'f', 'f', b'x', 0o644, 0, 0)]"),
    python("10 MB PAX path", "", "[('x', 'f', b'x', 0o644, 0, 0, {'path': 'p' * 10000000})]"),
    python(
      "2 MB GNU long name", "", "[('n' * 2000000, 'f', b'x', 0o644, 0, 0)]", format: "GNU_FORMAT"),
    python("uid over 32 bits", "out of range", "[('x', 'f', b'x', 0o644, 5000000000, 0)]"),
    python("negative uid", "", "[('x', 'f', b'x', 0o644, 0, 0, {'uid': '-5'})]"),
    python(
      "PAX size of 10^20", "", "[('x', 'f', b'x', 0o644, 0, 0, {'size': '100000000000000000000'})]"),
    python(
      "hard link to itself", "hard link to x, which is not in the archive before it",
      "[('x', 'h', 'x', 0o644, 0, 0)]"),
    python(
      "hard link to a later entry", "hard link to y, which is not in the archive before it",
      "[('x', 'h', 'y', 0o644, 0, 0), ('y', 'f', b'y', 0o644, 0, 0)]"),
    python(
      "symlink under a symlink", "/l is a symlink, not a directory",
      "[('l', 's', '/etc', 0o777, 0, 0), ('l/passwd', 'f', b'root', 0o644, 0, 0)]"),
    corrupt("xz", at: 40), corrupt("zstd", at: 30), corrupt("bzip2", at: 40),
    HostileArchive(
      name: "huge claimed size", expected: "huge: file is 8589934591 bytes",
      script: "PYTHON-RAW:huge"),
    HostileArchive(
      name: "corrupt header checksum", expected: "not a readable tar archive", script: "PYTHON-RAW:checksum"),
    HostileArchive(
      name: "truncated plain tar (inside the data)", expected: "payload",
      script: "mkdir -p $W/t && head -c 200000 /dev/urandom > $W/t/payload && "
        + "tar -C $W/t -cf $W/full . && head -c 100000 $W/full > $1"),
    truncated("gzip"), truncated("xz"), truncated("zstd"), truncated("bzip2"),
    HostileArchive(
      name: "corrupt gzip stream", expected: "",
      script: "mkdir -p $W/t && yes cramfs | head -c 200000 > $W/t/payload && tar -C $W/t -cf - . | gzip -c > $W/full"
        + " && python3 -c \"import sys; b = bytearray(open(sys.argv[1], 'rb').read()); b[24] ^= 0xff; "
        + "open(sys.argv[2], 'wb').write(b)\" $W/full $1"),
    HostileArchive(
      name: "not an archive (random bytes)", expected: "not a readable tar archive",
      script: "head -c 10000 /dev/urandom > $1"),
    HostileArchive(name: "empty file", expected: "not a readable tar archive", script: ": > $1"),
  ]
}

/// Python for the hand-made headers tarfile will not write.
private let rawHeaderScript = """
  import sys, tarfile
  kind, path = sys.argv[1], sys.argv[2]
  info = tarfile.TarInfo('huge' if kind == 'huge' else 'file')
  info.size = 0
  header = bytearray(info.tobuf(format=tarfile.USTAR_FORMAT))
  if kind == 'huge':
      header[124:136] = b'77777777777\\0'        # 8 GiB - 1, with 10 bytes of data behind it
      header[148:156] = b'        '
      header[148:156] = b'%06o\\0 ' % sum(header)
      body = header + b'0123456789'
  else:
      header[148:156] = b'0000000\\0'            # a wrong checksum
      body = header + bytes(1024)
  open(path, 'wb').write(body)
  """

@Suite("Hostile tar archives")
struct HostileArchiveTests {
  @Test("one line naming the entry, exit 8, nothing left behind", arguments: HostileArchive.all)
  func refused(_ archive: HostileArchive) throws {
    let cramfs = try #require(builtExecutable("cramfs"))
    let scratch = try makeTemporaryDirectory("hostile-tar")
    defer { removeTree(scratch) }
    let work = scratch + "/work"
    let out = scratch + "/out"
    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: false)
    try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: false)
    let input = work + "/input"
    try make(archive, at: input, scratch: work)

    let result = try runProcess(cramfs, ["make", input, out + "/image"], timeout: 60)
    #expect(!result.crashed && !result.timedOut)
    #expect(result.status == 8, "\(result.standardError)")
    #expect(result.standardErrorLines.count == 1, "\(result.standardError)")
    let line = String(result.standardErrorLines.first ?? "")
    #expect(line.hasPrefix("cramfs: error: \(input): "), "\(line)")
    #expect(archive.expected.isEmpty || line.contains(archive.expected), "\(line)")
    #expect(try directoryListing(out).isEmpty, "left behind in the output directory")

    // The library says the same, from standard input too.
    #expect(throws: CramfsError.self) {
      try ImageBuilder.build(from: TarArchiveInput(path: input), to: out + "/image", options: BuildOptions())
    }
    let piped = try runProcess("/bin/sh", ["-c", "\(cramfs) make - \(out)/image < \(input)"], timeout: 60)
    #expect(piped.status == 8 && piped.standardErrorLines.count == 1, "\(piped.standardError)")
    #expect(try directoryListing(out).isEmpty)
  }

  private func make(_ archive: HostileArchive, at path: String, scratch: String) throws {
    if archive.script.hasPrefix("PYTHON-RAW:") {
      let kind = String(archive.script.dropFirst("PYTHON-RAW:".count))
      try shell("python3 -c \(shellQuoted(rawHeaderScript)) \(kind) \(shellQuoted(path))")
    } else if archive.script.hasPrefix("PYTHON:") {
      let rest = archive.script.dropFirst("PYTHON:".count)
      let colon = try #require(rest.firstIndex(of: ":"))
      try writeArchive(String(rest[rest.index(after: colon)...]), to: path, format: String(rest[..<colon]))
    } else {
      try shell("W=\(shellQuoted(scratch)); set -- \(shellQuoted(path)); \(archive.script)")
    }
  }
}

@Suite("Large tar archives")
struct LargeArchiveTests {
  @Test("100,000 empty files in 1,000 directories: built, with bounded memory (measured by GNU time)")
  func manyEmptyFiles() throws {
    let cramfs = try #require(builtExecutable("cramfs"))
    let scratch = try makeTemporaryDirectory("tar-many")
    defer { removeTree(scratch) }
    let script = """
      import sys, tarfile
      with tarfile.open(sys.argv[1], 'w:gz', format=tarfile.USTAR_FORMAT, compresslevel=1) as archive:
          for i in range(100000):
              info = tarfile.TarInfo('d%03d/f%06d' % (i % 1000, i))
              archive.addfile(info)
      """
    try shell("python3 -c \(shellQuoted(script)) \(scratch)/many.tar.gz")
    let result = try shell(
      "/usr/bin/time -f 'rss=%M' \(cramfs) make \(scratch)/many.tar.gz \(scratch)/many.img 2>&1 | tail -n 1")
    let rss = Int(result.standardOutput.split(separator: "=").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "")
    // About 0.5 KB of metadata per entry, as for a directory of the same entries.
    #expect((rss ?? .max) < 150_000, "\(result.standardOutput)")
    let (superblock, entries) = try imageEntries(try readBytes(scratch + "/many.img"))
    #expect(entries.count == 101_000 && superblock.fsid.files == 101_001)
  }
}
