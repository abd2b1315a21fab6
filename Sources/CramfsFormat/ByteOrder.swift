/// The byte order of a cramfs image.
///
/// Images are written in the byte order of the CPU that mounts them; the kernel never swaps.
/// Every multi-byte value (superblock words, inode words, block pointers, the u16 length prefix of
/// direct compressed blocks) is stored in this order.
public enum ByteOrder: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
  case little
  case big

  /// The byte order of the machine running this code.
  public static let host: ByteOrder = {
    let probe: UInt16 = 0x0102
    return probe.littleEndian == probe ? .little : .big
  }()

  public var description: String { rawValue }

  /// Converts a value read from memory in host order into this byte order's numeric value.
  @inlinable
  public func decode(_ raw: UInt32) -> UInt32 {
    self == .little ? UInt32(littleEndian: raw) : UInt32(bigEndian: raw)
  }

  @inlinable
  public func decode(_ raw: UInt16) -> UInt16 {
    self == .little ? UInt16(littleEndian: raw) : UInt16(bigEndian: raw)
  }

  /// Converts a numeric value into the in-memory representation for this byte order.
  @inlinable
  public func encode(_ value: UInt32) -> UInt32 {
    self == .little ? value.littleEndian : value.bigEndian
  }

  @inlinable
  public func encode(_ value: UInt16) -> UInt16 {
    self == .little ? value.littleEndian : value.bigEndian
  }
}
