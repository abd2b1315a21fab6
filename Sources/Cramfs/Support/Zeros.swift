/// Whether every byte of `bytes` is zero: a hole for the builder (`-z`) and for sparse extraction.
func isAllZero(_ bytes: UnsafeRawBufferPointer) -> Bool {
  let words = bytes.count / 8
  for i in 0..<words where bytes.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self) != 0 {
    return false
  }
  for i in (words * 8)..<bytes.count where bytes[i] != 0 { return false }
  return true
}
