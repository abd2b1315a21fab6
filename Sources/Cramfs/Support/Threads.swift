#if canImport(Glibc)
  import Glibc
#endif
import CCramfsShims
import Synchronization

/// A thread started by ``Threads``; join it once, from another thread, before its resources go.
package struct JoinableThread: Sendable {
  fileprivate let handle: pthread_t

  /// Waits until the thread's body has returned.
  package func join() { pthread_join(handle, nil) }
}

/// The one place the package starts threads.
///
///     let thread = try Threads.start(name: "cramfs-fault") { handler.faultLoop() }
///     …
///     thread.join()
///
///     Threads.parallelFor(count: files.count, threads: 4, name: "cramfs-extract") { worker, index in
///       write(files[index], with: buffers[worker])
///     }
///
/// Plain pthreads rather than Swift concurrency: the work is blocking file I/O, long CPU work or waits
/// on the kernel (userfaultfd, FUSE), none of which belongs on the cooperative pool. State shared with a
/// thread goes in `Mutex`/`Atomic`, or in a ``Condition`` when a thread must sleep until it changes.
///
/// A system that refuses a thread never makes these trap: ``start(name:_:)`` throws, and the others run
/// on the threads they got (at least the caller's, for ``parallelFor(count:threads:name:_:)``).
package enum Threads {
  /// The number of online processors (at least 1): what every thread count starts from.
  package static var processorCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

  /// Starts a thread that runs `body`, named `name` for `top -H` and debuggers (the kernel keeps the
  /// first 15 bytes). Throws `.io` when the system refuses the thread.
  package static func start(name: String, _ body: @escaping @Sendable () -> Void) throws(CramfsError) -> JoinableThread {
    let context = Unmanaged.passRetained(StartContext(name: name, body: body)).toOpaque()
    var handle = pthread_t()
    let status = pthread_create(&handle, nil, { raw in
      // Never nil: `raw` is the context passed below.
      guard let raw else { return nil }
      let context = Unmanaged<StartContext>.fromOpaque(raw).takeRetainedValue()
      context.nameThread()
      context.body()
      return nil
    }, context)
    guard status == 0 else {
      Unmanaged<StartContext>.fromOpaque(context).release()
      throw SystemCall.error("cannot start thread \(name)", errno: status)
    }
    return JoinableThread(handle: handle)
  }

  /// Starts up to `count` threads, thread `worker` running `body(worker)`, and returns those started:
  /// fewer when the system refuses one (the first refusal ends the loop, so workers are `0..<result.count`).
  package static func start(count: Int, name: String, _ body: @escaping @Sendable (_ worker: Int) -> Void) -> [JoinableThread] {
    var threads: [JoinableThread] = []
    for worker in 0..<max(0, count) {
      guard let thread = try? start(name: name, { body(worker) }) else { break }
      threads.append(thread)
    }
    return threads
  }

  /// Runs `body(worker, index)` for every index in `0..<count` on up to `threads` threads, the calling
  /// thread included, and returns when all have finished. Indices are taken in order, one at a time, so
  /// long items early keep the threads busy; `worker` numbers the thread in `0..<threads` (for per-thread
  /// state, which only that thread touches meanwhile). Runs on fewer threads when the system refuses more.
  package static func parallelFor(
    count: Int, threads: Int, name: String, _ body: @escaping @Sendable (_ worker: Int, _ index: Int) -> Void
  ) {
    let next = NextIndex()
    let work: @Sendable (Int) -> Void = { worker in
      while true {
        let index = next.value.wrappingAdd(1, ordering: .relaxed).oldValue
        guard index < count else { return }
        body(worker, index)
      }
    }
    // The caller is worker 0; the others are numbered from 1.
    let helpers = start(count: min(threads, count) - 1, name: name) { work($0 + 1) }
    work(0)
    for thread in helpers { thread.join() }
  }
}

/// What a new thread runs, passed through `pthread_create`'s `void *` argument.
private final class StartContext: Sendable {
  let name: String
  let body: @Sendable () -> Void

  init(name: String, body: @escaping @Sendable () -> Void) {
    self.name = name
    self.body = body
  }

  func nameThread() {
    _ = CCramfsShims_name_thread(name)
  }
}

/// The next index of a ``Threads/parallelFor(count:threads:name:_:)`` (a class: closures cannot capture
/// an `Atomic`).
private final class NextIndex: Sendable {
  let value = Atomic<Int>(0)
}
