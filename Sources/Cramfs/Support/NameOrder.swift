#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

extension Array where Element == UInt8 {
  /// Whether `self` comes before `other` in unsigned byte order (`memcmp` over the common length, then the
  /// shorter first): the order cramfs keeps directory entries in, and `strcmp`'s for names without NUL.
  ///
  /// The same answer as `lexicographicallyPrecedes`, one `memcmp` instead of a generic loop: it is the
  /// comparison of every sort and lookup of names while a tree is scanned, assembled or changed by a table.
  func precedesInByteOrder(_ other: [UInt8]) -> Bool {
    let common = Swift.min(count, other.count)
    if common > 0 {
      let order = withUnsafeBufferPointer { mine in
        other.withUnsafeBufferPointer { theirs in memcmp(mine.baseAddress!, theirs.baseAddress!, common) }
      }
      if order != 0 { return order < 0 }
    }
    return count < other.count
  }
}
