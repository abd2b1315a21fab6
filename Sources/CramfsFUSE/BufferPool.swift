import Cramfs

/// Reply buffers reused across requests, so that serving a read allocates nothing.
///
/// Each buffer holds `replyCapacity` bytes for the reply plus one block of slack after it (a last block
/// inflates into its full block size) and one scratch block for partially covered blocks.
final class BufferPool: Sendable {
  /// Largest reply a pooled buffer holds.
  let replyCapacity: Int
  let blockSize: Int
  private let buffers: Pool<Buffer>

  /// One pooled buffer; freed when the pool lets it go.
  private final class Buffer {
    let start: UnsafeMutableRawPointer

    init(byteCount: Int) { start = .allocate(byteCount: byteCount, alignment: 64) }

    deinit { start.deallocate() }
  }

  init(replyCapacity: Int, blockSize: Int, maxIdle: Int = 32) {
    self.replyCapacity = replyCapacity
    self.blockSize = blockSize
    let byteCount = replyCapacity + 2 * blockSize
    buffers = Pool(maxIdle: maxIdle) { Buffer(byteCount: byteCount) }
  }

  /// Runs `body` with a buffer no other thread uses meanwhile: `reply` (`replyCapacity` bytes plus a block
  /// of slack) and `scratch` (one block). Requests larger than the pool's buffers get a one-off buffer.
  func withBuffer<T>(replyCount: Int, _ body: (_ reply: UnsafeMutableRawPointer, _ scratch: UnsafeMutableRawBufferPointer) -> T) -> T {
    if replyCount > replyCapacity {
      let buffer = UnsafeMutableRawPointer.allocate(byteCount: replyCount + 2 * blockSize, alignment: 64)
      defer { buffer.deallocate() }
      return body(buffer, UnsafeMutableRawBufferPointer(start: buffer + replyCount + blockSize, count: blockSize))
    }
    return buffers.withElement { buffer in
      body(buffer.start, UnsafeMutableRawBufferPointer(start: buffer.start + replyCapacity + blockSize, count: blockSize))
    }
  }
}
