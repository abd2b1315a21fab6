/// A bounds-checked, read-only view of image bytes in a given byte order.
///
/// Every access is checked against the view's length, and a failed check throws
/// ``CramfsError/Code/outOfBounds`` instead of trapping: this is what lets the reader walk corrupt
/// images safely. The view does not own its memory; the owner (a mapped file, an array) must outlive it.
package struct ByteView: @unchecked Sendable {
  public let bytes: UnsafeRawBufferPointer
  public let byteOrder: ByteOrder

  public init(_ bytes: UnsafeRawBufferPointer, byteOrder: ByteOrder) {
    self.bytes = bytes
    self.byteOrder = byteOrder
  }

  public var count: Int { bytes.count }

  /// Whether `[offset, offset + length)` lies inside the view (overflow-safe).
  @inlinable
  public func contains(offset: Int, length: Int) -> Bool {
    offset >= 0 && length >= 0 && offset <= bytes.count && length <= bytes.count - offset
  }

  @inlinable
  public func checkRange(_ offset: Int, _ length: Int, _ what: @autoclosure () -> String) throws(CramfsError) {
    guard contains(offset: offset, length: length) else {
      throw CramfsError(
        .outOfBounds, "\(what()) of \(length) bytes at 0x\(String(offset, radix: 16)) runs past the end of the image (0x\(String(bytes.count, radix: 16)) bytes)",
        offset: offset)
    }
  }

  @inlinable
  public func uint32(at offset: Int) throws(CramfsError) -> UInt32 {
    try checkRange(offset, 4, "a 32-bit word")
    return byteOrder.decode(bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
  }

  @inlinable
  public func uint16(at offset: Int) throws(CramfsError) -> UInt16 {
    try checkRange(offset, 2, "a 16-bit word")
    return byteOrder.decode(bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
  }

  /// The word at `offset`, or nil when it is not inside the view (for callers that describe the
  /// failure themselves, and only when someone reads the description).
  @inlinable
  public func uint32IfInside(at offset: Int) -> UInt32? {
    guard contains(offset: offset, length: 4) else { return nil }
    return byteOrder.decode(bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
  }

  /// The 16-bit word at `offset`, or nil when it is not inside the view.
  @inlinable
  public func uint16IfInside(at offset: Int) -> UInt16? {
    guard contains(offset: offset, length: 2) else { return nil }
    return byteOrder.decode(bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
  }

  /// Whether every byte of `[offset, offset + length)` is zero; false when the range is not inside the view.
  public func isZero(_ offset: Int, _ length: Int) -> Bool {
    guard contains(offset: offset, length: length) else { return false }
    guard length > 0 else { return true }
    // Thirty-two bytes at a time, OR-ed together, through the base pointer (the range is checked above):
    // long runs of zero padding are common (XIP alignment), and this runs in every open of an image.
    let base = bytes.baseAddress! + offset
    var position = 0
    var bits: UInt64 = 0
    while length - position >= 32 {
      bits |= base.loadUnaligned(fromByteOffset: position, as: UInt64.self)
        | base.loadUnaligned(fromByteOffset: position + 8, as: UInt64.self)
        | base.loadUnaligned(fromByteOffset: position + 16, as: UInt64.self)
        | base.loadUnaligned(fromByteOffset: position + 24, as: UInt64.self)
      position += 32
    }
    while position < length {
      bits |= UInt64(base.load(fromByteOffset: position, as: UInt8.self))
      position += 1
    }
    return bits == 0
  }

  /// The bytes `[offset, offset + length)`, without copying.
  @inlinable
  public func slice(_ offset: Int, _ length: Int, _ what: @autoclosure () -> String = "a range") throws(CramfsError) -> UnsafeRawBufferPointer {
    try checkRange(offset, length, what())
    return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)])
  }

  /// A view of the first `length` bytes (used to bound reads by the superblock's `size`).
  public func prefix(_ length: Int) -> ByteView {
    ByteView(UnsafeRawBufferPointer(rebasing: bytes[0..<min(max(length, 0), bytes.count)]), byteOrder: byteOrder)
  }
}

/// Appends values in a given byte order to a growing byte array.
package struct ByteWriter: Sendable {
  public var bytes: [UInt8]
  public let byteOrder: ByteOrder

  public init(byteOrder: ByteOrder, capacity: Int = 0) {
    self.byteOrder = byteOrder
    bytes = []
    bytes.reserveCapacity(capacity)
  }

  public mutating func append(_ value: UInt32) {
    let encoded = byteOrder.encode(value)
    withUnsafeBytes(of: encoded) { bytes.append(contentsOf: $0) }
  }

  public mutating func append(_ value: UInt16) {
    let encoded = byteOrder.encode(value)
    withUnsafeBytes(of: encoded) { bytes.append(contentsOf: $0) }
  }

  public mutating func append<S: Sequence>(contentsOf data: S) where S.Element == UInt8 {
    bytes.append(contentsOf: data)
  }

  /// Appends zeros until the length is a multiple of `alignment`.
  public mutating func pad(toMultipleOf alignment: Int) {
    let remainder = bytes.count % alignment
    if remainder != 0 { bytes.append(contentsOf: repeatElement(0, count: alignment - remainder)) }
  }

  /// Overwrites a 32-bit word already written at `offset`.
  public mutating func set(_ value: UInt32, at offset: Int) {
    let encoded = byteOrder.encode(value)
    withUnsafeBytes(of: encoded) { raw in
      for i in 0..<4 { bytes[offset + i] = raw[i] }
    }
  }
}
