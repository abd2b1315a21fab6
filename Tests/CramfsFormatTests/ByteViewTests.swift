import Testing

@testable import CramfsFormat

@Suite struct ByteViewTests {
  /// `isZero` reads eight bytes at a time: every start, length and position of a lone non-zero byte
  /// around those words must agree with a byte-by-byte look.
  @Test func isZeroAgreesWithEveryByte() {
    let size = 40
    for marked in [nil] + (0..<size).map(Optional.some) {
      var bytes = [UInt8](repeating: 0, count: size)
      if let marked { bytes[marked] = 0x80 }
      bytes.withUnsafeBytes { raw in
        let view = ByteView(raw, byteOrder: .little)
        for start in 0...size {
          for length in 0...(size - start) {
            let expected = bytes[start..<(start + length)].allSatisfy { $0 == 0 }
            #expect(view.isZero(start, length) == expected, "start \(start) length \(length) marked \(String(describing: marked))")
          }
        }
      }
    }
  }

  @Test func isZeroIsFalseOutsideTheView() {
    let bytes = [UInt8](repeating: 0, count: 16)
    bytes.withUnsafeBytes { raw in
      let view = ByteView(raw, byteOrder: .big)
      #expect(!view.isZero(8, 9))
      #expect(!view.isZero(-1, 2))
      #expect(!view.isZero(0, Int.max))
      #expect(view.isZero(16, 0))
    }
  }

  /// A failure is described only when asked; the texts are the ones `locate` has always thrown.
  @Test func blockLocationFailureTexts() {
    // A file of two 4096-byte blocks: pointer table at 0, blocks from 8.
    func failure(_ words: [UInt32], imageSize: Int, block: Int) -> CramfsError? {
      var writer = ByteWriter(byteOrder: .little)
      for word in words { writer.append(word) }
      let bytes = writer.bytes + [UInt8](repeating: 0, count: max(0, imageSize - writer.bytes.count))
      return bytes.withUnsafeBytes { raw -> CramfsError? in
        let view = ByteView(UnsafeRawBufferPointer(rebasing: raw[0..<imageSize]), byteOrder: .little)
        do throws(CramfsError) {
          _ = try BlockLocation.locate(block: block, tableOffset: 0, fileSize: 8000, blockSize: 4096, in: view)
          return nil
        } catch {
          return error
        }
      }
    }
    let outside = failure([], imageSize: 6, block: 1)
    #expect(outside?.code == .outOfBounds)
    #expect(outside?.message == "a 32-bit word of 4 bytes at 0x4 runs past the end of the image (0x6 bytes)")
    let prefix = failure([BlockPointer.direct(start: 0x100, uncompressed: false).rawValue, 0], imageSize: 0x101, block: 0)
    #expect(prefix?.message == "a 16-bit word of 2 bytes at 0x100 runs past the end of the image (0x101 bytes)")
    let backwards = failure([0x20, 0x10], imageSize: 0x40, block: 1)
    #expect(backwards?.code == .corrupted)
    #expect(backwards?.message == "block 1 ends at 0x10 before it starts at 0x20")
    let long = failure([0x8 + 8193, 0x8 + 8194], imageSize: 0x40, block: 0)
    #expect(long?.message == "block 0 has a bad stored length 8193 (limit 8192)")
  }
}
