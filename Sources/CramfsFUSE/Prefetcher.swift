import CFuse
import Cramfs
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// Pushes small files that follow a file being read (in a depth-first walk of the tree in listing order)
/// into the kernel's page cache with `fuse_lowlevel_notify_store`, from threads of their own.
///
/// A program that reads a directory's files one after another (`cat *`, `tar`, `cp -r`) otherwise waits
/// for one READ round trip per file, and the daemon idles while the reader works: a file is only
/// requested once the previous one is done. Stored ahead, the next files are already cached (the kernel
/// keeps cached pages: the image never changes), and decompressing them overlaps with the reader.
///
/// Pacing comes from misses: the first READ of a file (offset 0) queues the files after it, in a window
/// that starts at 256 KiB and doubles up to ``budgetBytes`` while the reader follows (as the kernel's
/// readahead does within a file), so that a program reading one file here and there costs little. Files
/// a READ already served are skipped. Only files the kernel got from READDIRPLUS are queued: it holds
/// their inodes (a store to an inode it does not hold is refused).
///
/// The stores run on their own threads, never in a request handler: a store waits for pages a pending
/// READ holds locked, and that READ must stay free to be answered. Two threads by default: decompression
/// is the work, and one thread alone falls behind a reader (which then waits for READs again).
final class Prefetcher: @unchecked Sendable {
  // @unchecked: `threads` is written by start() and stop(), one call at a time (the session's thread, or
  // the ShutdownWatcher's, which that thread joins before it calls stop()).
  private struct State {
    var queue: [UInt64] = []
    var head = 0
    /// Files queued (or stored) once: not queued again.
    var queued: Set<UInt64> = []
    /// Files a READ served from offset 0: a store would only repeat it.
    var served: Set<UInt64> = []
    /// For each directory, how many of its entries (in listing order) the kernel got with READDIRPLUS,
    /// and so holds inodes for.
    var listed: [UInt64: Int] = [:]
    /// Bytes the next walk may queue: grows while the reader follows the walk, starts over when it jumps.
    var window = 0
    /// Files the last walk passed without queuing (too large, or past its window): a first READ of one
    /// of them means the reader goes through in walk order.
    var expected: Set<UInt64> = []
    var stopping = false
  }

  /// Bytes of files queued after the one a READ asks for, at most (the window grows to this).
  let budgetBytes: Int
  /// The first window: a single first read of some file (a program start, a lookup) costs little.
  static let initialWindow = 256 << 10
  /// Larger files are left to the kernel's readahead.
  let maxFileBytes: Int
  /// Files queued after one READ at most (bounds the work a single read of a huge directory starts).
  static let maxFilesPerTrigger = 256
  /// Storing threads: two, or one on a single processor.
  static var defaultThreads: Int { min(2, Threads.processorCount) }
  /// Entries looked at after one READ at most (bounds the time a request handler spends walking).
  static let maxStepsPerTrigger = 4096
  /// Remembered file ids before the sets start over (bounds memory on huge images; costs only repeats).
  static let maxRemembered = 1 << 20

  private let fileSystem: CramfsFileSystem
  private let buffers: BufferPool
  private let state = Mutex(State())
  private let wakeup: UnsafeMutablePointer<sem_t>
  /// The `fuse_session *` while the threads run, 0 otherwise.
  private let session = Atomic<UInt>(0)
  private var threads: [JoinableThread] = []
  /// `threads.count`, for request handlers.
  private let threadCount = Atomic<Int>(0)
  /// Storing threads that have not returned yet.
  private let running = Atomic<Int>(0)

  init(fileSystem: CramfsFileSystem, buffers: BufferPool, budgetBytes: Int, maxFileBytes: Int) {
    self.fileSystem = fileSystem
    self.buffers = buffers
    self.budgetBytes = budgetBytes
    self.maxFileBytes = maxFileBytes
    wakeup = .allocate(capacity: 1)
    sem_init(wakeup, 0, 0)
  }

  deinit {
    sem_destroy(wakeup)
    wakeup.deallocate()
  }

  /// Starts `count` storing threads for `session`; false if none can start (then nothing is prefetched).
  func start(session pointer: OpaquePointer, threads count: Int) -> Bool {
    guard budgetBytes > 0 else { return false }
    session.store(UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(pointer))), ordering: .releasing)
    // Counted before they start, so that `stop` never sees a running thread as gone.
    let wanted = max(1, count)
    running.add(wanted, ordering: .relaxed)
    threads = Threads.start(count: wanted, name: "cramfs-prefetch") { [self] _ in
      run()
      running.subtract(1, ordering: .releasing)
    }
    running.subtract(wanted - threads.count, ordering: .relaxed)
    threadCount.store(threads.count, ordering: .relaxed)
    if threads.isEmpty { session.store(0, ordering: .releasing) }
    return !threads.isEmpty
  }

  /// Stops the threads and waits for them (before the session is destroyed; a second call does nothing).
  ///
  /// A store can be waiting for pages that a pending READ holds locked. While the session loop runs, its
  /// workers answer that READ; after it ended (`answeringRequests`), requests are answered here until the
  /// threads are done. (A READ the loop read and dropped as it ended is lost; ``ShutdownWatcher`` stops
  /// the prefetcher before the loop for that reason.)
  func stop(answeringRequests: Bool) {
    guard !threads.isEmpty, let session = OpaquePointer(bitPattern: session.load(ordering: .acquiring)) else { return }
    state.withLock { $0.stopping = true }
    for _ in threads { sem_post(wakeup) }
    if answeringRequests, running.load(ordering: .acquiring) > 0 { serve(session) }
    for thread in threads { thread.join() }
    threads = []
    threadCount.store(0, ordering: .relaxed)
    self.session.store(0, ordering: .releasing)
  }

  /// Answers requests of `session` until no storing thread runs.
  private func serve(_ session: OpaquePointer) {
    // The loop ended with the session marked as exited, and libfuse drops requests it reads then.
    fuse_session_reset(session)
    var buffer = fuse_buf()
    defer { free(buffer.mem) }
    var descriptor = pollfd(fd: fuse_session_fd(session), events: Int16(POLLIN), revents: 0)
    while running.load(ordering: .acquiring) > 0 {
      guard poll(&descriptor, 1, 10) > 0 else { continue }
      // Unmounted (POLLERR): the kernel ended the READs, so the stores fail soon; just wait for them.
      guard descriptor.revents & Int16(POLLIN) != 0, fuse_session_receive_buf(session, &buffer) > 0 else {
        usleep(1000)
        continue
      }
      fuse_session_process_buf(session, &buffer)
    }
    fuse_session_exit(session)
  }

  /// Called for every READDIRPLUS of directory `id`: the kernel now holds inodes for its first `count`
  /// entries (listing order, without `.` and `..`).
  func listed(_ id: UInt64, through count: Int) {
    guard session.load(ordering: .relaxed) != 0 else { return }
    state.withLock { state in
      if state.listed.count >= Self.maxRemembered { state.listed = [:] }
      state.listed[id] = max(state.listed[id] ?? 0, count)
    }
  }

  /// Called for every READ at offset 0 of file `id`: queues the files after it (in a request handler; only
  /// looks at cached listings and takes one lock).
  func reading(_ id: UInt64, _ node: Node) {
    guard session.load(ordering: .acquiring) != 0, let parent = fileSystem.parentID(of: id),
      let listing = fileSystem.cachedListing(of: parent), let position = listing.position(of: node)
    else { return }
    let added = state.withLock { state -> Int in
      if state.served.count >= Self.maxRemembered || state.queued.count >= Self.maxRemembered {
        state.served = []
        state.queued = []
      }
      state.served.insert(id)
      // Queued but not stored yet: the reader overtook the stores, and the files after it are queued.
      if state.queued.contains(id) { return 0 }
      // Like the kernel's readahead: double the window while reads follow the walk, else start small.
      let initial = min(Self.initialWindow, budgetBytes)
      state.window = state.expected.contains(id) ? min(max(state.window, initial) * 2, budgetBytes) : initial
      let (upcoming, passed) = filesAfter(position, of: parent, in: listing, listed: state.listed, budget: state.window)
      state.expected = passed
      var added = 0
      for candidate in upcoming where !state.served.contains(candidate) && state.queued.insert(candidate).inserted {
        state.queue.append(candidate)
        added += 1
      }
      return added
    }
    // Each woken thread drains the queue: more wakeups than threads would find nothing to do.
    for _ in 0..<min(added, threadCount.load(ordering: .relaxed)) { sem_post(wakeup) }
  }

  /// The ids of the regular files that follow entry `position` of `directory` in a depth-first walk in
  /// listing order (the order of find, tar and cp -r), up to `budget` bytes, and those of the files it
  /// passed without taking (too large for a store, or the first one past the budget). The walk stops where
  /// the kernel has not listed a directory (`listed`): the reader has not got there yet, and the inodes
  /// do not exist.
  private func filesAfter(
    _ position: Int, of directory: UInt64, in listing: DirectoryListing, listed: [UInt64: Int], budget: Int
  ) -> (files: [UInt64], passed: Set<UInt64>) {
    var result: [UInt64] = []
    var passed: Set<UInt64> = []
    var bytes = 0
    // Where the walk is, and where to resume in the directories it entered below the start.
    var current = (id: directory, listing: listing, next: position + 1)
    var entered: [(id: UInt64, listing: DirectoryListing, next: Int)] = []
    for _ in 0..<Self.maxStepsPerTrigger {
      let known = min(listed[current.id] ?? 0, current.listing.nodes.count)
      if current.next < known {
        let node = current.listing.nodes[current.next]
        current.next += 1
        if node.type == .regular, node.inode.size > maxFileBytes {
          passed.insert(fileSystem.nodeID(of: node))
        } else if node.type == .regular, node.inode.size > 0 {
          bytes += Int(node.inode.size)
          if bytes > budget || result.count == Self.maxFilesPerTrigger {
            passed.insert(fileSystem.nodeID(of: node))
            break
          }
          result.append(fileSystem.nodeID(of: node))
        } else if node.type == .directory {
          let id = fileSystem.nodeID(of: node)
          guard listed[id] != nil, let inner = fileSystem.cachedListing(of: id) else { break }
          entered.append(current)
          current = (id, inner, 0)
        }
        continue
      }
      // Stopped short of the end: the kernel has not listed the rest.
      if current.next < current.listing.nodes.count { break }
      if let outer = entered.popLast() {
        current = outer
        continue
      }
      // The start directory is done: on to its parent, after it.
      guard current.id != CramfsFileSystem.rootID, let parent = fileSystem.parentID(of: current.id),
        let parentListing = fileSystem.cachedListing(of: parent), let node = try? fileSystem.node(for: current.id),
        let index = parentListing.position(of: node)
      else { break }
      current = (parent, parentListing, index + 1)
    }
    return (result, passed)
  }

  /// A storing thread: takes queued files in order and stores each one whole.
  private func run() {
    while true {
      sem_wait(wakeup)
      // One wakeup per trigger, not per file: drain the queue, then wait again.
      draining: while true {
        switch take() {
        case .stop: return
        case .idle: break draining
        case .file(let id): store(id)
        }
      }
    }
  }

  private enum Next {
    case stop, idle
    case file(UInt64)
  }

  /// The next queued file no READ has served yet.
  private func take() -> Next {
    state.withLock { state in
      while !state.stopping {
        guard state.head < state.queue.count else { return .idle }
        let id = state.queue[state.head]
        state.head += 1
        if state.head == state.queue.count {
          state.queue.removeAll(keepingCapacity: true)
          state.head = 0
        }
        if !state.served.contains(id) { return .file(id) }
      }
      return .stop
    }
  }

  /// Reads file `id` whole and hands it to the kernel's page cache. Errors are dropped: a READ of the
  /// file reports them.
  private func store(_ id: UInt64) {
    let bits = session.load(ordering: .acquiring)
    guard let session = OpaquePointer(bitPattern: bits), let node = try? fileSystem.node(for: id) else { return }
    let size = Int(node.inode.size)
    guard size > 0, size <= maxFileBytes else { return }
    buffers.withBuffer(replyCount: size) { buffer, scratch in
      guard let count = try? fileSystem.read(node, offset: 0, count: size, into: buffer, scratch: scratch), count == size else {
        return
      }
      // A READ that started meanwhile holds the pages locked, and the store would wait for its reply:
      // skip the store (it would only repeat the READ), and keep such waits rare.
      guard !state.withLock({ $0.served.contains(id) }) else { return }
      var vector = fuse_bufvec(
        count: 1, idx: 0, off: 0,
        buf: (fuse_buf(size: count, flags: fuse_buf_flags(rawValue: 0), mem: buffer, fd: -1, pos: 0)))
      _ = fuse_lowlevel_notify_store(session, id, 0, &vector, fuse_buf_copy_flags(rawValue: 0))
    }
  }
}

