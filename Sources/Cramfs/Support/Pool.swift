import Synchronization

/// A few reusable objects (decompressors, reply buffers) shared by the threads of a reader, so that a
/// read does not allocate one.
///
///     let buffers = Pool(maxIdle: 32, make: { UnsafeMutableRawPointer.allocate(byteCount: 1 << 16, alignment: 64) },
///                        discard: { $0.deallocate() })
///     buffers.withElement { buffer in … }
///
/// The elements need not be thread-safe: the pool hands each to one thread at a time, and its lock
/// orders the hand-overs.
package final class Pool<Element>: Sendable {
  /// An idle element. `@unchecked`: held by the pool alone until it is handed to one thread (see above).
  private struct Idle: @unchecked Sendable {
    var element: Element
  }

  private let idle = Mutex<[Idle]>([])
  private let maxIdle: Int
  private let make: @Sendable () -> Element
  private let discard: @Sendable (Element) -> Void

  /// A pool that keeps up to `maxIdle` elements, makes one with `make` when none is idle, and gives
  /// those it does not keep (and those idle when it goes) to `discard`.
  package init(
    maxIdle: Int, make: @escaping @Sendable () -> Element, discard: @escaping @Sendable (Element) -> Void = { _ in }
  ) {
    self.maxIdle = maxIdle
    self.make = make
    self.discard = discard
  }

  deinit {
    for item in idle.withLock({ $0 }) { discard(item.element) }
  }

  /// Runs `body` with an element no other thread uses meanwhile; `body` must not keep it.
  package func withElement<R, E: Error>(_ body: (Element) throws(E) -> R) throws(E) -> R {
    let element = idle.withLock { $0.popLast() }?.element ?? make()
    defer {
      let returned = Idle(element: element)
      let kept = idle.withLock { list -> Bool in
        guard list.count < maxIdle else { return false }
        list.append(returned)
        return true
      }
      if !kept { discard(element) }
    }
    return try body(element)
  }
}
