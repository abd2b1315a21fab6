import Cramfs
import Foundation
import Testing

/// `Diagnostic.Code` is typed, but what scripts see (JSON, `description`) is still the kebab-case name.
@Suite struct DiagnosticCodeTests {
  @Test func rawValuesAreUniqueKebabCase() {
    let names = Diagnostic.Code.allCases.map(\.rawValue)
    #expect(Set(names).count == names.count)
    for name in names {
      #expect(name.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "-" } && !name.hasPrefix("-") && !name.hasSuffix("-"), "\(name)")
    }
    #expect(Diagnostic.Code.crcMismatch.description == "crc-mismatch")
    #expect("\(Diagnostic.Code.directLastBlockReadsAsZeros)" == "direct-last-block-reads-as-zeros")
  }

  @Test func codableWritesTheKebabCaseName() throws {
    let diagnostic = Diagnostic(.error, .crcMismatch, "crc error", offset: 0x20)
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    let json = String(decoding: try encoder.encode(diagnostic), as: UTF8.self)
    #expect(json == #"{"code":"crc-mismatch","message":"crc error","offset":32,"severity":"error"}"#)
    #expect(try JSONDecoder().decode(Diagnostic.self, from: Data(json.utf8)) == diagnostic)
  }
}
