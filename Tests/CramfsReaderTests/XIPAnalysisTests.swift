import Cramfs
import Testing

/// The direct-mapping prediction follows the kernel's rules (format doc §7) on images laid out by hand.
@Suite struct XIPAnalysisTests {
  func report(_ kinds: [BlockKind], tail: Int, order: ByteOrder = .little, base: UInt64 = 0) throws -> XIPFileReport {
    let content = BlockKindTests.content(blocks: kinds.count, tail: tail, holes: [])
    let image = try CramfsImage(bytes: BlockKindForge(byteOrder: order).image(content: content, kinds: kinds), blockSize: 4096)
    return try XIPAnalysis.analyze(image, physicalBase: base).files[0]
  }

  @Test(arguments: ByteOrder.allCases)
  func wholeFileDirect(order: ByteOrder) throws {
    let r = try report([.directUncompressed, .directUncompressed, .directUncompressed], tail: 100, order: order)
    #expect(r.mappingClass == .whole)
    #expect(r.directPages == 3)
    #expect(r.reason == nil)
  }

  @Test func compressedTailGivesPartialMapping() throws {
    let r = try report([.directUncompressed, .directUncompressed, .compressed], tail: 100)
    #expect(r.mappingClass == .partial)
    #expect(r.directPages == 2)
    #expect(r.reason == .compressed)
  }

  @Test func firstPageCompressedMapsNothing() throws {
    let r = try report([.compressed, .directUncompressed], tail: 10)
    #expect(r.mappingClass == .none)
    #expect(r.reason == .compressed)
  }

  @Test func uncompressedButNotDirect() throws {
    #expect(try report([.uncompressed, .uncompressed], tail: 10).reason == .notDirect)
    // A full-size last page kept non-direct is the builder's guard against the kernel's read() defect.
    let guarded = try report([.directUncompressed, .directUncompressed, .uncompressed], tail: 4096)
    #expect(guarded.reason == .readBugGuard)
    #expect(guarded.directPages == 2)
  }

  @Test func directCompressedBreaksTheRun() throws {
    let r = try report([.directUncompressed, .directCompressed, .directUncompressed], tail: 4096)
    #expect(r.directPages == 1)
    #expect(r.reason == .compressed)
  }

  @Test func physicalBaseMustKeepPagesAligned() throws {
    let r = try report([.directUncompressed, .directUncompressed], tail: 4096, base: 0x800)
    #expect(r.mappingClass == .none)
    #expect(r.reason == .notPageAligned)
    #expect(try report([.directUncompressed, .directUncompressed], tail: 4096, base: 0x1800_0000).mappingClass == .whole)
  }

  @Test func missingFlagMapsNothing() throws {
    let content = BlockKindTests.content(blocks: 2, tail: 50, holes: [])
    var bytes = BlockKindForge(byteOrder: .little).image(content: content, kinds: [.directUncompressed, .directUncompressed])
    bytes[9] &= ~0x08  // clear EXT_BLOCK_POINTERS (0x800) in the little-endian flags word
    let image = try CramfsImage(bytes: bytes, blockSize: 4096)
    #expect(try XIPAnalysis.analyze(image).files[0].reason == .flagMissing)
  }

  @Test func dataAfterTheEndOfTheLastPageIsShared() throws {
    let content = BlockKindTests.content(blocks: 2, tail: 100, holes: [])
    var bytes = BlockKindForge(byteOrder: .little).image(content: content, kinds: [.directUncompressed, .directUncompressed])
    let clean = try XIPAnalysis.analyze(try CramfsImage(bytes: bytes, blockSize: 4096)).files[0]
    #expect(clean.mappingClass == .whole)
    let directOffset = try #require(clean.directOffset)
    bytes[directOffset + 4096 + 100 + 7] = 0xAA  // something else in the last page, past the file's end
    let shared = try XIPAnalysis.analyze(try CramfsImage(bytes: bytes, blockSize: 4096)).files[0]
    #expect(shared.mappingClass == .partial)
    #expect(shared.directPages == 1)
    #expect(shared.reason == .lastPageShared)
  }
}
