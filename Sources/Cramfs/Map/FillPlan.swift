/// Which pages of a mapping to fill, and in what order, as faults arrive: the bookkeeping of
/// ``FaultHandler``, kept free of threads and system calls so that it can be tested alone.
///
/// A fault is answered with its own page first. A fault next to the previous one, or inside the window the
/// previous one asked for, continues a stream (forwards, or backwards for a reader walking down): the pages
/// after it in that direction, up to a window, are queued for the worker threads in chunks, and the window
/// doubles on each such fault up to `maximumWindow` pages. A stream starts with `minimumWindow` pages when
/// the first fault is on the first page, with two when two faults are neighbours (which may be chance).
/// Any other fault is random: the window shrinks to the faulting page alone and the read-ahead still
/// queued is dropped, so scattered touches decompress about one block each.
struct FillPlan: Sendable {
  enum State: UInt8, Sendable {
    /// Not in the mapping yet; a fault or a window may claim it.
    case missing
    /// In a chunk of the queue; a fault takes it out and answers it at once.
    case queued
    /// Being decompressed and copied in by one thread; a fault on it waits for that copy's wake-up.
    case filling
    /// In the mapping.
    case present
  }

  /// What the fault thread does about one fault.
  struct Decision: Equatable, Sendable {
    /// The page to fill now, on the fault thread (nil when another thread is already filling it).
    var answer: Int?
    /// Chunks added to the queue: the workers to wake.
    var chunksQueued = 0
  }

  /// Pages below this are not filled here (the direct prefix, mapped from the image file).
  let firstPage: Int
  /// The mapping's page count.
  let pageCount: Int
  /// Most pages copied in by one worker at a time (one `UFFDIO_COPY`).
  let chunkPages: Int
  let minimumWindow: Int
  let maximumWindow: Int
  /// The pages the last fault asked for: 0 before any, 1 after a random fault.
  private(set) var window = 0
  /// The page of the last fault.
  private var lastFault: Int?
  /// The stream's direction (+1 forwards, -1 backwards), 0 after a random fault.
  private var direction = 0
  /// The farthest page the stream asked for, in its direction.
  private var reach = 0
  /// Chunks being filled by workers.
  private(set) var busy = 0
  /// Set when the mapping goes away: the workers stop taking chunks.
  var isStopping = false
  private var states: [State]
  /// Chunks waiting for a worker, oldest (nearest the reader) first.
  private(set) var queue: [Range<Int>] = []

  /// - Parameters:
  ///   - pageSize: bytes per page; the window runs from 64 KiB to 4 MiB and a chunk is 32 KiB, at least
  ///     one page each.
  init(firstPage: Int, pageCount: Int, pageSize: Int) {
    self.firstPage = firstPage
    self.pageCount = pageCount
    chunkPages = max(1, (32 << 10) / pageSize)
    minimumWindow = max(1, (64 << 10) / pageSize)
    maximumWindow = max(minimumWindow, (4 << 20) / pageSize)
    states = Array(repeating: .missing, count: max(0, pageCount - firstPage))
  }

  /// Nothing queued and nothing being filled by a worker.
  var isIdle: Bool { queue.isEmpty && busy == 0 }

  func state(of page: Int) -> State { states[page - firstPage] }

  /// Plans the answer to a fault on `page`: the page itself, then the window after it.
  mutating func fault(at page: Int) -> Decision {
    guard page >= firstPage, page < pageCount else { return Decision() }
    if let (step, continues) = streamStep(to: page) {
      // A stream found by two neighbouring faults may still be chance: it starts with two pages.
      window = continues ? min(window * 2, maximumWindow) : lastFault == nil ? minimumWindow : min(2, maximumWindow)
      direction = step
      lastFault = page
    } else if state(of: page) == .missing {
      direction = 0
      window = 1
      lastFault = page
      dropQueue()
    }
    // Otherwise the page is already claimed (another thread's touch inside the read-ahead): the stream
    // stays as it is.
    var decision = Decision()
    switch state(of: page) {
    case .missing:
      set(page, .filling)
      decision.answer = page
    case .queued:
      takeOutOfQueue(page)
      set(page, .filling)
      decision.answer = page
      decision.chunksQueued += 1  // the chunk may have split in two
    case .filling, .present:
      break
    }
    decision.chunksQueued += queueWindow(from: page)
    return decision
  }

  /// The direction of the stream a fault on `page` continues or starts, and whether it continues one;
  /// nil for a random fault.
  private func streamStep(to page: Int) -> (step: Int, continues: Bool)? {
    guard let last = lastFault else { return page == firstPage ? (1, false) : nil }
    // Past the last fault, no farther than just beyond what the stream asked for.
    if direction != 0, (page - last) * direction > 0, (reach - page) * direction >= -1 { return (direction, true) }
    // Next to the last fault: a new stream.
    if abs(page - last) == 1 { return (page - last, false) }
    return nil
  }

  /// The oldest queued chunk, now being filled by the calling worker; nil when the queue is empty.
  mutating func takeChunk() -> Range<Int>? {
    guard !isStopping, !queue.isEmpty else { return nil }
    let chunk = queue.removeFirst()
    for page in chunk { set(page, .filling) }
    busy += 1
    return chunk
  }

  /// Records that `pages` were copied in (or, when `copied` is false, were not and may be claimed again).
  mutating func finished(_ pages: Range<Int>, copied: Bool, byWorker: Bool) {
    for page in pages { set(page, copied ? .present : .missing) }
    if byWorker { busy -= 1 }
  }

  private mutating func set(_ page: Int, _ state: State) { states[page - firstPage] = state }

  /// Queues the missing pages of the window that starts at `page` (the pages after it in the stream's
  /// direction), nearest first, in chunks of at most `chunkPages` consecutive pages; returns how many
  /// chunks were added.
  private mutating func queueWindow(from page: Int) -> Int {
    guard direction != 0, lastFault == page else { return 0 }
    reach = min(max(page + direction * (window - 1), firstPage), pageCount - 1)
    var added = 0
    var chunk: ClosedRange<Int>?
    for next in stride(from: page + direction, through: reach, by: direction) where state(of: next) == .missing {
      set(next, .queued)
      if let current = chunk, current.count < chunkPages, next == current.lowerBound - 1 || next == current.upperBound + 1 {
        chunk = min(current.lowerBound, next)...max(current.upperBound, next)
      } else {
        if let current = chunk { queue.append(current.lowerBound..<(current.upperBound + 1)); added += 1 }
        chunk = next...next
      }
    }
    if let current = chunk { queue.append(current.lowerBound..<(current.upperBound + 1)); added += 1 }
    return added
  }

  /// Removes `page` from its queued chunk, leaving the pages before and after it queued.
  private mutating func takeOutOfQueue(_ page: Int) {
    guard let index = queue.firstIndex(where: { $0.contains(page) }) else { return }
    let chunk = queue[index]
    let pieces = [chunk.lowerBound..<page, (page + 1)..<chunk.upperBound].filter { !$0.isEmpty }
    queue.replaceSubrange(index...index, with: pieces)
  }

  /// Drops the read-ahead that no worker has started: nobody waits on a queued page (a fault on one
  /// answers it at once), so the pages simply become missing again.
  private mutating func dropQueue() {
    for chunk in queue {
      for page in chunk { set(page, .missing) }
    }
    queue.removeAll()
  }
}
