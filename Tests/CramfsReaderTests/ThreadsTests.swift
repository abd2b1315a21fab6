import Cramfs
import Synchronization
import Testing

/// The thread runner, its condition and the pool, on their own (their users are tested through builds,
/// mappings and mounts).
@Suite struct ThreadsTests {
  @Test(arguments: [(0, 4), (1, 4), (7, 1), (1000, 3), (5, 0)])
  func parallelForRunsEveryIndexOnce(count: Int, threads: Int) {
    let seen = Mutex([Int](repeating: 0, count: count))
    let workers = Mutex(Set<Int>())
    Threads.parallelFor(count: count, threads: threads, name: "test") { worker, index in
      seen.withLock { $0[index] += 1 }
      workers.withLock { _ = $0.insert(worker) }
    }
    #expect(seen.withLock { $0 } == [Int](repeating: 1, count: count))
    // Workers are numbered from 0, at most one per thread asked for (the caller is one of them).
    #expect(workers.withLock { $0 }.allSatisfy { $0 >= 0 && $0 < max(1, threads) })
  }

  @Test func aStartedThreadHandsItsResultThroughACondition() throws {
    let box = Condition<Int?>(nil)
    let thread = try Threads.start(name: "test-thread") {
      box.withLock { $0 = 42 }
      box.signal()
    }
    #expect(box.wait { $0 } == 42)
    thread.join()
  }

  @Test func aTimedWaitGivesUpWithNil() {
    let never = Condition(false)
    let start = ContinuousClock.now
    #expect(never.wait(timeout: .milliseconds(50)) { $0 ? true : nil } == nil)
    #expect(ContinuousClock.now - start >= .milliseconds(50))
  }

  @Test func startingWorkersNumbersThem() {
    let seen = Mutex(Set<Int>())
    let threads = Threads.start(count: 3, name: "test-worker") { worker in seen.withLock { _ = $0.insert(worker) } }
    for thread in threads { thread.join() }
    #expect(threads.count == 3)
    #expect(seen.withLock { $0 } == [0, 1, 2])
  }

  final class Counted {
    static let made = Atomic<Int>(0)
    init() { Self.made.add(1, ordering: .relaxed) }
  }

  @Test func aPoolReusesIdleObjectsAndMakesOnlyWhatItLacks() {
    let pool = Pool<Counted>(maxIdle: 2) { Counted() }
    let before = Counted.made.load(ordering: .relaxed)
    let first = pool.withElement { ObjectIdentifier($0) }
    let second = pool.withElement { ObjectIdentifier($0) }
    #expect(first == second)
    // Nested: the inner call cannot have the object the outer one holds.
    pool.withElement { outer in pool.withElement { inner in #expect(outer !== inner) } }
    #expect(Counted.made.load(ordering: .relaxed) - before == 2)
  }
}
