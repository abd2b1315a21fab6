import CramfsTestSupport
import Foundation
import Testing

@Suite("cramfs list", .enabled(if: TestEnvironment.gate(UtilLinuxCramfs.isAvailable), "needs util-linux mkfs.cramfs"))
struct ListTests {
  @Test("--json -R lists every entry with its type, mode, owner, size and target", arguments: MkfsVariant.all)
  func jsonMatchesTree(variant: MkfsVariant) throws {
    let fixture = try Fixture(variant)
    let expected = try fixture.sourceEntries()
    let result = try CLI.succeed(["list", "-R", "--json", fixture.image.path])
    let listed = try #require(try JSONSerialization.jsonObject(with: result.standardOutputData) as? [[String: Any]])
    #expect(listed.count == expected.count)
    var seen: Set<String> = []
    for object in listed {
      let path = try #require(object["path"] as? String)
      let relative = String(path.dropFirst())
      seen.insert(relative)
      let entry = try #require(expected[relative], "unexpected entry \(path)")
      #expect(object["type"] as? String == entry.type, "\(path)")
      #expect((object["mode"] as? NSNumber)?.uint32Value == entry.mode, "\(path)")
      #expect((object["uid"] as? NSNumber)?.uint32Value == entry.uid, "\(path)")
      #expect((object["gid"] as? NSNumber)?.uint32Value == entry.gid, "\(path)")
      #expect(object["name"] as? String == relative.split(separator: "/").last.map(String.init))
      if entry.type != "directory" {
        #expect((object["size"] as? NSNumber)?.uint64Value == entry.size, "\(path)")
      }
      #expect(object["target"] as? String == entry.target, "\(path)")
      #expect((object["major"] as? NSNumber)?.uint32Value == entry.major, "\(path)")
      #expect((object["minor"] as? NSNumber)?.uint32Value == entry.minor, "\(path)")
    }
    #expect(seen == Set(expected.keys))
  }

  @Test("text output: ls -l columns, byte-order names, one line per entry", arguments: MkfsVariant.all)
  func textMatchesTree(variant: MkfsVariant) throws {
    let fixture = try Fixture(variant)
    let expected = try fixture.sourceEntries()
    let result = try CLI.succeed(["list", "--recursive", fixture.image.path])
    let lines = result.standardOutput.split(separator: "\n")
    #expect(lines.count == expected.count)
    for line in lines {
      let parsed = try #require(ListLine(line), "unparsable line: \(line)")
      let entry = try #require(expected[parsed.name], "unexpected entry \(parsed.name)")
      #expect(parsed.modeString.first == Self.typeCharacter(entry.type), "\(line)")
      #expect(parsed.uid == entry.uid && parsed.gid == entry.gid, "\(line)")
      if let major = entry.major, let minor = entry.minor {
        #expect(parsed.size == "\(major), \(minor)", "\(line)")
      } else if entry.type != "directory" {
        #expect(parsed.size == String(entry.size), "\(line)")
      }
      #expect(parsed.target == entry.target, "\(line)")
    }
    // Image order is strcmp order within each directory: the root's entries come sorted.
    let top = lines.compactMap { ListLine($0)?.name }.filter { !$0.contains("/") }
    #expect(top == top.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
  }

  @Test("a path inside the image lists that directory, or that one entry")
  func subdirectoryAndSingleEntry() throws {
    let fixture = try Fixture(MkfsVariant.all[0])
    let sub = try CLI.succeed(["list", fixture.image.path, "/sub"]).standardOutput
    let names = sub.split(separator: "\n").compactMap { ListLine($0)?.name }
    #expect(names == ["absolute-link", "deeper", "nested.txt"])
    let single = try CLI.succeed(["list", fixture.image.path, "sub/absolute-link"]).standardOutput
    #expect(single.hasPrefix("lrwxrwxrwx "))
    #expect(single.hasSuffix(" absolute-link -> /sub/nested.txt\n"))
    let setuid = try CLI.succeed(["list", fixture.image.path, "setuid"]).standardOutput
    #expect(setuid.hasPrefix("-rws--x--x "))
    let empty = try CLI.succeed(["list", fixture.image.path, "empty-dir"])
    #expect(empty.standardOutputData.isEmpty)
  }

  static func typeCharacter(_ type: String) -> Character {
    switch type {
    case "directory": "d"
    case "symlink": "l"
    case "fifo": "p"
    case "char-device": "c"
    case "block-device": "b"
    default: "-"
    }
  }
}

/// One line of `cramfs list`: `mode uid gid size name [-> target]`, size being `major, minor` for devices.
struct ListLine {
  var modeString: Substring
  var uid: UInt32
  var gid: UInt32
  var size: String
  var name: String
  var target: String?

  init?(_ line: Substring) {
    var fields = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: true)
    guard fields.count == 4, let uid = UInt32(fields[1]), let gid = UInt32(fields[2]) else { return nil }
    modeString = fields[0]
    self.uid = uid
    self.gid = gid
    var rest = fields[3].drop { $0 == " " }
    if rest.first?.isNumber == true, let comma = rest.firstIndex(of: ","), rest[..<comma].allSatisfy(\.isNumber) {
      // "major, minor name"
      let afterComma = rest[rest.index(after: comma)...].drop { $0 == " " }
      let minor = afterComma.prefix { $0.isNumber }
      size = "\(rest[..<comma]), \(minor)"
      rest = afterComma.dropFirst(minor.count).dropFirst()
    } else {
      fields = rest.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
      guard fields.count == 2 else { return nil }
      size = String(fields[0])
      rest = fields[1]
    }
    if modeString.first == "l", let arrow = rest.range(of: " -> ") {
      name = String(rest[..<arrow.lowerBound])
      target = String(rest[arrow.upperBound...])
    } else {
      name = String(rest)
    }
  }
}
