import CramfsTestSupport
import Foundation
import Testing

@Suite("cramfs cat", .enabled(if: TestEnvironment.gate(UtilLinuxCramfs.isAvailable), "needs util-linux mkfs.cramfs"))
struct CatTests {
  @Test("every regular file comes out byte for byte", arguments: MkfsVariant.all)
  func everyFile(variant: MkfsVariant) throws {
    let fixture = try Fixture(variant)
    for entry in try fixture.sourceEntries().values where entry.type == "file" {
      let result = try CLI.succeed(["cat", fixture.image.path, "/" + entry.path])
      let source = try Data(contentsOf: fixture.tree.appendingPathComponent(entry.path))
      #expect(result.standardOutputData == source, "\(entry.path)")
    }
  }

  @Test("symlinks are followed inside the image; several paths are concatenated")
  func symlinksAndSeveralPaths() throws {
    let fixture = try Fixture(MkfsVariant.all[1])
    let hello = try Data(contentsOf: fixture.tree.appendingPathComponent("hello.txt"))
    let nested = try Data(contentsOf: fixture.tree.appendingPathComponent("sub/nested.txt"))
    #expect(try CLI.succeed(["cat", fixture.image.path, "link"]).standardOutputData == hello)
    #expect(try CLI.succeed(["cat", fixture.image.path, "/sub/absolute-link"]).standardOutputData == nested)
    #expect(try CLI.succeed(["cat", fixture.image.path, "hello.txt", "sub/nested.txt"]).standardOutputData == hello + nested)
  }

  @Test("a file inside a larger file, with --offset and a forced --block-size")
  func offsetAndBlockSize() throws {
    let fixture = try Fixture(MkfsVariant.all[2])
    let image = try Data(contentsOf: fixture.image)
    let embedded = fixture.directory.appendingPathComponent("flash.bin")
    try (Data(repeating: 0xFF, count: 8192) + image + Data(repeating: 0xFF, count: 1000)).write(to: embedded)
    let source = try Data(contentsOf: fixture.tree.appendingPathComponent("random.bin"))
    let result = try CLI.succeed(["cat", "--offset", "0x2000", "--block-size", "16384", embedded.path, "random.bin"])
    #expect(result.standardOutputData == source)
  }
}
