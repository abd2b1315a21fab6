#if canImport(Glibc)
  import Glibc
#endif

/// A value guarded by a lock, with a condition variable for threads that sleep until it changes (which
/// `Mutex` cannot do).
///
///     let queue = Condition(Queue())
///     // a worker: sleeps until there is a job
///     let job = queue.wait { $0.popFirst() }
///     // the producer
///     queue.withLock { $0.append(job) }
///     queue.signal()
///
/// Change the state under the lock (in ``withLock(_:)`` or a `wait`), then wake the sleepers with
/// ``signal()`` or ``broadcast()``. A sleeper checks again at every wake-up, so spurious ones are harmless.
package final class Condition<State: Sendable>: @unchecked Sendable {
  // @unchecked: `state` is only touched with `mutex` held. The pthread objects are allocated once, as
  // they must not move.
  private let mutex: UnsafeMutablePointer<pthread_mutex_t>
  private let condition: UnsafeMutablePointer<pthread_cond_t>
  private var state: State

  /// A condition guarding `state`.
  package init(_ state: State) {
    self.state = state
    mutex = .allocate(capacity: 1)
    pthread_mutex_init(mutex, nil)
    condition = .allocate(capacity: 1)
    var attributes = pthread_condattr_t()
    pthread_condattr_init(&attributes)
    // Timed waits count on the monotonic clock, which setting the date does not move.
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
    pthread_cond_init(condition, &attributes)
    pthread_condattr_destroy(&attributes)
  }

  deinit {
    pthread_cond_destroy(condition)
    condition.deallocate()
    pthread_mutex_destroy(mutex)
    mutex.deallocate()
  }

  /// Runs `body` with the state locked.
  package func withLock<R, E: Error>(_ body: (inout State) throws(E) -> R) throws(E) -> R {
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    return try body(&state)
  }

  /// Runs `attempt` with the state locked until it returns a value, sleeping between tries until woken;
  /// returns that value.
  package func wait<R>(_ attempt: (inout State) -> R?) -> R {
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    while true {
      if let result = attempt(&state) { return result }
      pthread_cond_wait(condition, mutex)
    }
  }

  /// Like ``wait(_:)``, but gives up `timeout` from now: nil when `attempt` still returns nil then.
  package func wait<R>(timeout: Duration, _ attempt: (inout State) -> R?) -> R? {
    var deadline = timespec()
    clock_gettime(CLOCK_MONOTONIC, &deadline)
    let (seconds, attoseconds) = timeout.components
    let nanoseconds = Int(deadline.tv_nsec) + Int(attoseconds / 1_000_000_000)
    deadline.tv_sec += Int(seconds) + nanoseconds / 1_000_000_000
    deadline.tv_nsec = nanoseconds % 1_000_000_000
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    while true {
      if let result = attempt(&state) { return result }
      if pthread_cond_timedwait(condition, mutex, &deadline) == ETIMEDOUT { return attempt(&state) }
    }
  }

  /// Wakes one sleeping `wait`.
  package func signal() { pthread_cond_signal(condition) }

  /// Wakes every sleeping `wait`.
  package func broadcast() { pthread_cond_broadcast(condition) }
}
