import Synchronization

/// A few reusable objects (decompressors, reply buffers) shared by the threads of a reader, so that a
/// read does not allocate one.
///
///     let decompressors = Pool(maxIdle: 16) { BlockDecompressor() }
///     try decompressors.withElement { decompressor in try decompressor.decompress(source, into: block) }
///
/// The objects need not be thread-safe: the pool hands each to one thread at a time, and its lock orders
/// the hand-overs. Objects the pool does not keep are released (their `deinit` frees what they hold).
package final class Pool<Element: AnyObject>: Sendable {
  private let idle = Mutex<[IdleObject]>([])
  private let maxIdle: Int
  private let make: @Sendable () -> Element

  /// A pool that keeps up to `maxIdle` objects and makes one with `make` when none is idle.
  package init(maxIdle: Int, make: @escaping @Sendable () -> Element) {
    self.maxIdle = maxIdle
    self.make = make
  }

  /// Runs `body` with an object no other thread uses meanwhile; `body` must not keep it.
  package func withElement<R, E: Error>(_ body: (Element) throws(E) -> R) throws(E) -> R {
    let element: Element
    if let taken = idle.withLock({ $0.popLast() }) {
      // Only `make`'s objects go in: the cast holds.
      element = unsafeDowncast(taken.object, to: Element.self)
    } else {
      element = make()
    }
    defer {
      let returned = IdleObject(object: element)
      idle.withLock { list in
        if list.count < maxIdle { list.append(returned) }
      }
    }
    return try body(element)
  }
}

/// An object idle in a ``Pool``. `@unchecked`: held by the pool alone until it is handed to one thread.
///
/// `AnyObject`, and outside the generic `Pool`, so that the idle list is not generic: a module calling
/// ``Pool/withElement(_:)`` gets no specialized copy (`package` generics are not specialized across
/// modules), and the list's operations then still make no generic metadata lookups on the hot path.
private struct IdleObject: @unchecked Sendable {
  var object: AnyObject
}
