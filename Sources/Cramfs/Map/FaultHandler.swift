#if canImport(Glibc)
  import Glibc
#endif
import struct SystemPackage.FileDescriptor
import CCramfsShims
import Synchronization

/// Reads a mapping's pages out of the image and counts the work; shared by the fault and worker threads.
final class PageSource: Sendable {
  let image: CramfsImage
  let node: Node
  let pageSize: Int
  let filled = Atomic<Int>(0)
  let decompressed = Atomic<Int>(0)
  let errors = Mutex<[CramfsError]>([])

  init(image: CramfsImage, node: Node) {
    self.image = image
    self.node = node
    pageSize = image.blockSize
  }

  /// Decompresses block `index` into `destination` (a whole page, zero-padded past the file's end).
  func read(block index: Int, into destination: UnsafeMutableRawPointer) throws(CramfsError) {
    let page = UnsafeMutableRawBufferPointer(start: destination, count: pageSize)
    decompressed.add(1, ordering: .relaxed)
    let produced = try image.readBlock(node, block: index, into: page)
    if produced < pageSize { (destination + produced).initializeMemory(as: UInt8.self, repeating: 0, count: pageSize - produced) }
  }

  /// Like `read`, but a block that fails reads as zeros and is recorded: a fault must be answered.
  func readOrZeros(block index: Int, into destination: UnsafeMutableRawPointer) {
    do {
      try read(block: index, into: destination)
    } catch {
      destination.initializeMemory(as: UInt8.self, repeating: 0, count: pageSize)
      errors.withLock { $0.append(error) }
    }
  }
}

/// Answers `userfaultfd` page faults for one mapping: one thread reads the faults and answers each with its
/// own page at once; worker threads (one per core, up to four) fill the read-ahead window that ``FillPlan``
/// queues after a sequential fault, a chunk of consecutive pages per `UFFDIO_COPY`.
final class FaultHandler: @unchecked Sendable {
  /// The userfaultfd (the shims' ioctls and reads take its `rawValue`).
  private let fd: FileDescriptor
  /// A byte written here wakes the fault thread's `poll` to stop it.
  private let wake: (read: FileDescriptor, write: FileDescriptor)
  /// Page 0 of the mapping; page numbers are block numbers of the file.
  private let base: UnsafeMutableRawPointer
  private let pageSize: Int
  private let source: PageSource
  private let plan: Mutex<FillPlan>
  /// Counts queued chunks (a hint: a worker drains the queue before it waits again).
  private let work: UnsafeMutablePointer<sem_t>
  private let workerLimit: Int
  private var faultThread: JoinableThread?
  /// Started by the fault thread on the first read-ahead; read by `stop` only after that thread ended.
  private var workers: [JoinableThread] = []

  /// Registers pages `firstPage..<pageCount` of the mapping at `base`; nil when the system refuses
  /// `userfaultfd`.
  init?(base: UnsafeMutableRawPointer, firstPage: Int, pageCount: Int, source: PageSource) {
    let pageSize = source.pageSize
    let raw = CCramfsShims_userfaultfd_open()
    guard raw >= 0 else { return nil }
    let fd = FileDescriptor(rawValue: raw)
    let start = base + firstPage * pageSize
    guard CCramfsShims_userfaultfd_register(fd.rawValue, start, (pageCount - firstPage) * pageSize) == 0,
      let pipe = try? FileDescriptor.pipe(options: .closeOnExec)
    else {
      try? fd.close()
      return nil
    }
    self.fd = fd
    wake = (pipe.readEnd, pipe.writeEnd)
    self.base = base
    self.pageSize = pageSize
    self.source = source
    plan = Mutex(FillPlan(firstPage: firstPage, pageCount: pageCount, pageSize: pageSize))
    work = .allocate(capacity: 1)
    sem_init(work, 0, 0)
    workerLimit = min(4, Threads.processorCount)
  }

  /// Starts the fault thread; false when the system refuses it, and then nothing answers the faults:
  /// call ``stop()`` (which unregisters the pages) and fill them another way.
  func start() -> Bool {
    faultThread = try? Threads.start(name: "cramfs-fault") { [self] in faultLoop() }
    return faultThread != nil
  }

  /// Nothing queued and no worker filling: the counters stay still until the next fault.
  var isIdle: Bool { plan.withLock { $0.isIdle } }

  /// Stops every thread (a worker finishes the chunk it holds) and closes the descriptors.
  func stop() {
    _ = try? wake.write.writeAll([1])
    faultThread?.join()
    plan.withLock { $0.isStopping = true }
    for _ in workers { sem_post(work) }
    for worker in workers { worker.join() }
    sem_destroy(work)
    work.deallocate()
    try? fd.close()
    try? wake.read.close()
    try? wake.write.close()
  }

  private func faultLoop() {
    let scratch = UnsafeMutableRawPointer.allocate(byteCount: pageSize, alignment: 4096)
    defer { scratch.deallocate() }
    while CCramfsShims_poll_two(fd.rawValue, wake.read.rawValue, -1) == 1 {
      var faultAddress: UInt64 = 0
      while CCramfsShims_userfaultfd_read_fault(fd.rawValue, &faultAddress) == 1 {
        guard let pointer = UnsafeMutableRawPointer(bitPattern: UInt(faultAddress)) else { continue }
        let decision = plan.withLock { $0.fault(at: (pointer - base) / pageSize) }
        // The faulting thread first; the workers take the window meanwhile.
        if let page = decision.answer { fill(page..<(page + 1), through: scratch, byWorker: false) }
        if decision.chunksQueued > 0 { wakeWorkers(decision.chunksQueued) }
      }
    }
  }

  private func wakeWorkers(_ chunks: Int) {
    // All workers start with the first read-ahead: a mapping touched only at random never needs them.
    // Without any (the system refused them), the fault thread still answers each fault, queued or not.
    if workers.count < workerLimit {
      workers += Threads.start(count: workerLimit - workers.count, name: "cramfs-fill") { [self] _ in workerLoop() }
    }
    for _ in 0..<chunks { sem_post(work) }
  }

  private func workerLoop() {
    let chunkPages = plan.withLock { $0.chunkPages }
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunkPages * pageSize, alignment: 4096)
    defer { buffer.deallocate() }
    while true {
      let (chunk, stopping) = plan.withLock { plan in (plan.takeChunk(), plan.isStopping) }
      if stopping { return }
      if let chunk {
        fill(chunk, through: buffer, byWorker: true)
      } else {
        while sem_wait(work) != 0 && errno == EINTR {}
      }
    }
  }

  /// Decompresses `pages` into `buffer` and copies them into the mapping in one `UFFDIO_COPY`, which wakes
  /// the threads waiting on them. A copy that fails leaves the pages missing and wakes their waiters, whose
  /// retried access faults again.
  private func fill(_ pages: Range<Int>, through buffer: UnsafeMutableRawPointer, byWorker: Bool) {
    for (slot, page) in pages.enumerated() { source.readOrZeros(block: page, into: buffer + slot * pageSize) }
    // Counted before the copy: the woken thread may read the counter at once.
    source.filled.add(pages.count, ordering: .relaxed)
    let destination = base + pages.lowerBound * pageSize
    let copied = CCramfsShims_userfaultfd_copy(fd.rawValue, destination, buffer, pages.count * pageSize) == 0
    plan.withLock { $0.finished(pages, copied: copied, byWorker: byWorker) }
    if !copied {
      source.filled.subtract(pages.count, ordering: .relaxed)
      _ = CCramfsShims_userfaultfd_wake(fd.rawValue, destination, pages.count * pageSize)
    }
  }
}
