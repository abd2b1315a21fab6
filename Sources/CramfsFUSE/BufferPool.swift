import Synchronization

/// Reply buffers reused across requests, so that serving a read allocates nothing.
///
/// Each buffer holds `replyCapacity` bytes for the reply plus one block of slack after it (a last block
/// inflates into its full block size) and one scratch block for partially covered blocks.
final class BufferPool: Sendable {
  /// Largest reply a pooled buffer holds.
  let replyCapacity: Int
  let blockSize: Int
  private let idle = Mutex<[UInt]>([])
  private let maxIdle: Int

  init(replyCapacity: Int, blockSize: Int, maxIdle: Int = 32) {
    self.replyCapacity = replyCapacity
    self.blockSize = blockSize
    self.maxIdle = maxIdle
  }

  deinit {
    for bits in idle.withLock({ $0 }) { UnsafeMutableRawPointer(bitPattern: bits)?.deallocate() }
  }

  private var byteCount: Int { replyCapacity + 2 * blockSize }

  /// Runs `body` with a buffer no other thread uses meanwhile: `reply` (`replyCapacity` bytes plus a block
  /// of slack) and `scratch` (one block). Requests larger than the pool's buffers get a one-off buffer.
  func withBuffer<T>(replyCount: Int, _ body: (_ reply: UnsafeMutableRawPointer, _ scratch: UnsafeMutableRawBufferPointer) -> T) -> T {
    if replyCount > replyCapacity {
      let buffer = UnsafeMutableRawPointer.allocate(byteCount: replyCount + 2 * blockSize, alignment: 64)
      defer { buffer.deallocate() }
      return body(buffer, UnsafeMutableRawBufferPointer(start: buffer + replyCount + blockSize, count: blockSize))
    }
    let bits = idle.withLock { $0.popLast() }
    let buffer = bits.flatMap { UnsafeMutableRawPointer(bitPattern: $0) } ?? UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
    defer {
      let returned = UInt(bitPattern: buffer)
      let kept = idle.withLock { list -> Bool in
        guard list.count < maxIdle else { return false }
        list.append(returned)
        return true
      }
      if !kept { buffer.deallocate() }
    }
    return body(buffer, UnsafeMutableRawBufferPointer(start: buffer + replyCapacity + blockSize, count: blockSize))
  }
}
