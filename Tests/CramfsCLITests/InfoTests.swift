import CramfsTestSupport
import Foundation
import Testing

@Suite("cramfs info", .enabled(if: TestEnvironment.gate(UtilLinuxCramfs.isAvailable), "needs util-linux mkfs.cramfs"))
struct InfoTests {
  @Test("--json reports what mkfs.cramfs wrote", arguments: MkfsVariant.all)
  func jsonMatchesMkfs(variant: MkfsVariant) throws {
    let fixture = try Fixture(variant)
    let entries = try fixture.sourceEntries().values
    let result = try CLI.succeed(["info", "--json", fixture.image.path])
    let info = try #require(try JSONSerialization.jsonObject(with: result.standardOutputData) as? [String: Any])
    let imageLength = try FileManager.default.attributesOfItem(atPath: fixture.image.path)[.size] as? NSNumber
    #expect(info["byteOrder"] as? String == variant.byteOrder.rawValue)
    #expect((info["pad"] as? NSNumber)?.intValue == (variant.pad ? 512 : 0))
    #expect((info["blockSize"] as? NSNumber)?.intValue == variant.blockSize)
    #expect(info["blockSizeDetected"] as? Bool == true)
    #expect((info["size"] as? NSNumber)?.intValue == imageLength?.intValue)
    #expect((info["imageSize"] as? NSNumber)?.intValue == imageLength?.intValue)
    #expect(info["name"] as? String == "Compressed")
    #expect(info["signature"] as? String == "Compressed ROMFS")
    #expect((info["edition"] as? NSNumber)?.intValue == 0)
    let flags = try #require(info["flags"] as? [String: Any])
    #expect(flags["names"] as? [String] == ["fsid-v2", "sorted-dirs"])
    let crc = try #require(info["crc"] as? [String: Any])
    #expect(crc["status"] as? String == "ok")
    #expect((crc["stored"] as? NSNumber) == (crc["computed"] as? NSNumber))
    let fsid = try #require(info["fsid"] as? [String: Any])
    #expect((fsid["files"] as? NSNumber)?.intValue == entries.count + 1)
    let counts = try #require(info["counts"] as? [String: Any])
    func count(_ type: String) -> Int { entries.filter { $0.type == type }.count }
    #expect((counts["directories"] as? NSNumber)?.intValue == count("directory") + 1)
    #expect((counts["files"] as? NSNumber)?.intValue == count("file"))
    #expect((counts["symlinks"] as? NSNumber)?.intValue == count("symlink"))
    #expect((counts["fifos"] as? NSNumber)?.intValue == count("fifo"))
    #expect((counts["devices"] as? NSNumber)?.intValue == count("char-device"))
    #expect((counts["sockets"] as? NSNumber)?.intValue == 0)
    let fileBytes = entries.filter { $0.type == "file" }.reduce(0) { $0 + $1.size }
    #expect((info["fileBytes"] as? NSNumber)?.uint64Value == fileBytes)
  }

  @Test("text output names the byte order, block size, flags and CRC status")
  func text() throws {
    let fixture = try Fixture(MkfsVariant.all[3])
    let text = try CLI.succeed(["info", fixture.image.path]).standardOutput
    let fields = Dictionary(
      text.split(separator: "\n").map { line -> (String, String) in
        let key = line.prefix { $0 != " " || line.firstRange(of: "  ") == nil }
        let parts = line.split(separator: "  ", maxSplits: 1)
        return (String(parts[0]), parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : String(key))
      }, uniquingKeysWith: { first, _ in first })
    #expect(fields["byte order"] == "big")
    #expect(fields["block size"]?.hasPrefix("16384 (detected: the only size consistent with the data") == true, "\(fields)")
    #expect(fields["pad"]?.hasPrefix("512") == true)
    #expect(fields["flags"] == "0x3 (fsid-v2, sorted-dirs)")
    #expect(fields["crc"]?.hasSuffix(", ok") == true)
  }
}
