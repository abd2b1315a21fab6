#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import Synchronization

/// Runs `body(index)` for every index in `0..<count` on `threads` threads. Plain pthreads: the extractor's
/// work is blocking file I/O and the checker's is long CPU work, neither of which belongs on Swift
/// concurrency's cooperative pool.
enum ParallelRunner {
  private final class Job: Sendable {
    let next = Atomic<Int>(0)
    let count: Int
    let body: @Sendable (Int, Int) -> Void

    init(count: Int, body: @escaping @Sendable (Int, Int) -> Void) {
      self.count = count
      self.body = body
    }

    func work(worker: Int) {
      while true {
        let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
        guard index < count else { return }
        body(worker, index)
      }
    }
  }

  /// `body(worker, index)`: `worker` is the thread's number in `0..<threads`, for per-thread state.
  static func run(count: Int, threads: Int, _ body: @escaping @Sendable (Int, Int) -> Void) {
    let job = Job(count: count, body: body)
    let extra = max(0, min(threads, count) - 1)
    var handles: [pthread_t] = []
    for worker in 1..<(extra + 1) {
      let context = Unmanaged.passRetained(WorkerContext(job: job, worker: worker)).toOpaque()
      var handle = pthread_t()
      if pthread_create(&handle, nil, { raw in
        let context = Unmanaged<WorkerContext>.fromOpaque(raw!).takeRetainedValue()
        context.job.work(worker: context.worker)
        return nil
      }, context) == 0 {
        handles.append(handle)
      } else {
        Unmanaged<WorkerContext>.fromOpaque(context).release()
      }
    }
    job.work(worker: 0)
    for handle in handles { pthread_join(handle, nil) }
  }

  private final class WorkerContext: Sendable {
    let job: Job
    let worker: Int
    init(job: Job, worker: Int) {
      self.job = job
      self.worker = worker
    }
  }
}
