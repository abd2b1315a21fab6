/// Memory that holds a whole image and stays put while any reader uses it: a mapped file, or
/// a private copy of caller-supplied bytes.
package final class ImageStorage: @unchecked Sendable {
  public let bytes: UnsafeRawBufferPointer
  /// Keeps a mapping alive, when the bytes come from one.
  private let mapping: MappedFile?
  private let ownsBytes: Bool

  /// The file the bytes are mapped from, if any.
  public var path: String? { mapping?.path }

  public init(mapping: MappedFile) {
    self.mapping = mapping
    bytes = mapping.bytes
    ownsBytes = false
  }

  public init<C: Collection>(copying source: C) where C.Element == UInt8 {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(source.count, 1), alignment: 16)
    _ = buffer.initializeMemory(as: UInt8.self, from: source)
    bytes = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[0..<source.count])
    mapping = nil
    ownsBytes = true
  }

  deinit {
    if ownsBytes, let base = bytes.baseAddress { UnsafeMutableRawPointer(mutating: base).deallocate() }
  }
}
