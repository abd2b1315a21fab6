@testable import Cramfs
import Testing

@Suite struct NameDisplayTests {
  /// Names in messages and paths: NUL shown as `\0`, invalid UTF-8 repaired. The expectation is the
  /// plain definition (decode, then replace each NUL scalar), on names that put NUL next to broken
  /// multi-byte sequences.
  @Test func nulAndInvalidUTF8() {
    let pieces: [[UInt8]] = [[0], [0x41], [0xC3], [0xC3, 0xA9], [0xE2, 0x82], [0xF0, 0x9F, 0x98], [0xFF], [0x5C]]
    var names: [[UInt8]] = []
    for a in pieces { for b in pieces { for c in pieces { names.append(a + b + c) } } }
    for name in names {
      let expected = String(String(decoding: name, as: UTF8.self).unicodeScalars.map { $0 == "\0" ? "\\0" : String($0) }.joined())
      #expect(DirectoryScanner.displayName(name) == expected, "\(name)")
    }
    #expect(DirectoryScanner.displayName([0x61, 0, 0x62]) == "a\\0b")
  }

  @Test func problemMessages() {
    #expect(DirectoryScanner.nameProblem([0x61]) == nil)
    #expect(DirectoryScanner.nameProblem([0x2E, 0x2E])?.message == "entry is named '..'")
    #expect(DirectoryScanner.nameProblem([0x61, 0x2F])?.code == .slashInName)
    #expect(DirectoryScanner.nameProblem([0x61, 0])?.message == "name 'a\\0' contains a NUL byte")
    #expect(DirectoryScanner.nameProblem([])?.code == .emptyName)
  }
}
