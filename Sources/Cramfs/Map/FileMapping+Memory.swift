#if canImport(Glibc)
  import Glibc
#endif
import struct SystemPackage.FileDescriptor

extension FileMapping {
  /// Bytes of anonymous memory this mapping holds now: the `Anonymous:` lines of `/proc/self/smaps` for
  /// the areas inside it. Direct pages are file pages and count 0; filled pages (and pages written in a
  /// writable mapping) count in full. Nil where `/proc/self/smaps` cannot be read.
  public func anonymousBytes() -> Int? {
    guard let text = readWholeFile("/proc/self/smaps") else { return nil }
    let start = UInt(bitPattern: address)
    let end = start + UInt(mappedLength)
    var inside = false
    var total = 0
    for line in text.split(separator: "\n") {
      if let dash = line.firstIndex(of: "-"), let space = line.firstIndex(of: " "), dash < space,
        let low = UInt(line[..<dash], radix: 16), let high = UInt(line[line.index(after: dash)..<space], radix: 16)
      {
        inside = low >= start && high <= end
      } else if inside, line.hasPrefix("Anonymous:") {
        total += (line.split(separator: " ").compactMap { Int($0) }.first ?? 0) * 1024
      }
    }
    return total
  }
}

/// The whole content of a small file that `stat` reports as empty (as `/proc` files are).
func readWholeFile(_ path: String) -> String? {
  guard let fd = try? FileDescriptor.open(path: path, .readOnly, options: .closeOnExec) else { return nil }
  defer { try? fd.close() }
  guard let bytes = try? fd.readToEnd() else { return nil }
  return String(decoding: bytes, as: UTF8.self)
}
