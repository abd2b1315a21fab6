import Synchronization

/// A few decompressors shared by the threads reading one image, so that a read does not allocate one.
final class DecompressorPool: Sendable {
  // Retained decompressors as bit patterns of their unmanaged references: only one thread holds each.
  private let idle = Mutex<[UInt]>([])
  private static let maxIdle = 16

  init() {}

  deinit {
    let list = idle.withLock { $0 }
    for bits in list { Self.reference(bits).release() }
  }

  private static func reference(_ bits: UInt) -> Unmanaged<BlockDecompressor> {
    Unmanaged.fromOpaque(UnsafeRawPointer(bitPattern: bits)!)
  }

  /// Runs `body` with a decompressor no other thread uses meanwhile.
  func withDecompressor<T>(_ body: (BlockDecompressor) throws(CramfsError) -> T) throws(CramfsError) -> T {
    let taken = idle.withLock { $0.popLast() }
    let decompressor = taken.map { Self.reference($0).takeRetainedValue() } ?? BlockDecompressor()
    defer {
      let bits = UInt(bitPattern: Unmanaged.passRetained(decompressor).toOpaque())
      let kept = idle.withLock { list -> Bool in
        guard list.count < Self.maxIdle else { return false }
        list.append(bits)
        return true
      }
      if !kept { Self.reference(bits).release() }
    }
    return try body(decompressor)
  }
}
