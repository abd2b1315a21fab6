import Testing

@testable import CramfsFormat

@Suite struct InodeTests {
  // The worked example of the format doc: directory `dirA`, mode 040755, size 16, name 4 bytes, children at 92.
  static let example = Inode(mode: 0o040755, uid: 0, size: 16, gid: 0, nameWords: 1, offsetWords: 92 / 4)

  @Test func littleEndianVector() {
    var writer = ByteWriter(byteOrder: .little)
    Self.example.encode(into: &writer)
    #expect(writer.bytes == [0xed, 0x41, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0xc1, 0x05, 0x00, 0x00])
  }

  @Test func bigEndianVector() {
    var writer = ByteWriter(byteOrder: .big)
    Self.example.encode(into: &writer)
    #expect(writer.bytes == [0x41, 0xed, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x04, 0x00, 0x00, 0x17])
  }

  @Test(arguments: ByteOrder.allCases)
  func roundTripAtFieldLimits(order: ByteOrder) throws {
    let values: [Inode] = [
      Inode(mode: 0xFFFF, uid: 0xFFFF, size: Inode.maxSize, gid: 0xFF, nameWords: 63, offsetWords: Inode.maxOffsetWords),
      Inode(mode: 0o100644, uid: 1000, size: 4097, gid: 232, nameWords: 2, offsetWords: 1234),
      Inode(mode: 0, uid: 0, size: 0, gid: 0, nameWords: 0, offsetWords: 0),
    ]
    for inode in values {
      var writer = ByteWriter(byteOrder: order)
      inode.encode(into: &writer)
      let decoded = try writer.bytes.withUnsafeBytes { raw in
        try Inode(decoding: ByteView(raw, byteOrder: order), at: 0)
      }
      #expect(decoded == inode)
    }
  }

  @Test func truncatedInodeThrows() {
    let bytes: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    _ = bytes.withUnsafeBytes { raw in
      #expect(throws: CramfsError.self) { try Inode(decoding: ByteView(raw, byteOrder: .little), at: 0) }
    }
  }
}
