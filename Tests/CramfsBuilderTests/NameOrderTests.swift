import CramfsTestSupport
import Testing

@testable import Cramfs

@Suite("name order")
struct NameOrderTests {
  @Test("precedesInByteOrder agrees with the standard library's element-wise order")
  func agreesWithLexicographicOrder() {
    var random = SeededGenerator(seed: TestSeed.value(0x4E))
    // Short names from a small alphabet (so prefixes and ties are common), with the bytes at both ends.
    let alphabet: [UInt8] = [0x00, 0x01, 0x2E, 0x41, 0x61, 0x7F, 0x80, 0xFE, 0xFF]
    var names: [[UInt8]] = [[], [0], [0xFF], [0x61], [0x61, 0x00], [0x61, 0x61]]
    for _ in 0..<300 {
      let length = Int(random.next() % 5)
      names.append((0..<length).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] })
    }
    var disagreements = 0
    for a in names {
      for b in names where a.precedesInByteOrder(b) != a.lexicographicallyPrecedes(b) {
        disagreements += 1
        if disagreements == 1 { Issue.record("\(a) vs \(b): \(a.precedesInByteOrder(b))") }
      }
    }
    #expect(disagreements == 0)
    #expect(names.count * names.count > 90_000)
  }
}
