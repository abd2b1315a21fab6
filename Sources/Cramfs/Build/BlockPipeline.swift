import Foundation

/// A block as it goes into the image.
struct EncodedBlock: Sendable {
  enum Kind: Sendable { case compressed, uncompressed, hole }
  var kind: Kind
  /// The stored bytes (empty for a hole).
  var bytes: [UInt8]
}

/// One block to encode: `length` bytes at `offset` of `source`.
struct BlockJob: Sendable {
  var sequence: Int
  var source: DataSource
  var offset: Int
  var length: Int
  var encoding: BlockEncoding
}

/// Encodes blocks; owns its compressor and input buffer, so one per worker.
///
/// `@unchecked Sendable` only so that it can be handed to the worker thread that then owns it alone.
final class BlockEncoder: @unchecked Sendable {
  private let compressor: BlockCompressor
  private let input: UnsafeMutableRawBufferPointer

  init(options: BuildOptions) throws(CramfsError) {
    compressor = try BlockCompressor(implementation: options.deflate, level: options.effectiveLevel)
    input = .allocate(byteCount: options.blockSize, alignment: 16)
  }

  deinit { input.deallocate() }

  func encode(_ job: BlockJob) throws(CramfsError) -> EncodedBlock {
    let block = UnsafeMutableRawBufferPointer(rebasing: input[0..<job.length])
    try job.source.read(at: job.offset, into: block)
    let raw = UnsafeRawBufferPointer(block)
    switch job.encoding {
    case .packed(let holes, let storeIncompressible):
      if holes && Self.isZero(raw) { return EncodedBlock(kind: .hole, bytes: []) }
      var stream: [UInt8] = []
      compressor.compress(raw, appendingTo: &stream)
      if storeIncompressible && stream.count >= raw.count {
        return EncodedBlock(kind: .uncompressed, bytes: Array(raw))
      }
      return EncodedBlock(kind: .compressed, bytes: stream)
    }
  }

  static func isZero(_ bytes: UnsafeRawBufferPointer) -> Bool {
    let words = bytes.count / 8
    for i in 0..<words where bytes.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self) != 0 { return false }
    for i in (words * 8)..<bytes.count where bytes[i] != 0 { return false }
    return true
  }
}

/// Encodes every block of the data items on `jobs` workers and hands them back in order.
///
/// At most `window` blocks are read, being encoded or waiting to be written at any time, so memory
/// does not grow with the image. Results are consumed in sequence order, which makes the output the same
/// for every `jobs` value. With one job the work runs inline on the caller's thread (the serial version).
enum BlockPipeline {
  /// Blocks in flight per worker.
  static let windowPerJob = 8

  static func run(
    items: [DataItem], tree: SourceTree, options: BuildOptions,
    consume: (_ item: Int, _ block: Int, EncodedBlock) throws(CramfsError) -> Void
  ) throws(CramfsError) {
    var producer = JobProducer(items: items, tree: tree, blockSize: options.blockSize)
    if options.jobs == 1 {
      let encoder = try BlockEncoder(options: options)
      while let (item, block, job) = try producer.next() {
        try consume(item, block, try encoder.encode(job))
      }
      return
    }
    let state = PipelineState()
    // Made here so that a failure is thrown to the caller, not met in a worker.
    var encoders: [BlockEncoder] = []
    for _ in 0..<options.jobs { encoders.append(try BlockEncoder(options: options)) }
    for encoder in encoders { state.startWorker(encoder: encoder) }
    defer { state.shutDown() }

    let window = options.jobs * windowPerJob
    var pending: [(item: Int, block: Int)] = []  // submitted, not yet consumed, in order
    var pendingHead = 0
    var exhausted = false
    while true {
      while !exhausted && pending.count - pendingHead < window {
        guard let (item, block, job) = try producer.next() else {
          exhausted = true
          break
        }
        pending.append((item, block))
        state.submit(job)
      }
      guard pendingHead < pending.count else { break }
      let result = state.take(sequence: pendingHead)
      let (item, block) = pending[pendingHead]
      pendingHead += 1
      try consume(item, block, try result.get())
    }
  }
}

/// Walks the items' blocks in order, opening each item's source when its first block is due.
private struct JobProducer {
  let items: [DataItem]
  let tree: SourceTree
  let blockSize: Int
  var itemIndex = 0
  var blockIndex = 0
  var sequence = 0
  var source: DataSource?

  init(items: [DataItem], tree: SourceTree, blockSize: Int) {
    self.items = items
    self.tree = tree
    self.blockSize = blockSize
  }

  mutating func next() throws(CramfsError) -> (Int, Int, BlockJob)? {
    guard itemIndex < items.count else { return nil }
    let item = items[itemIndex]
    if blockIndex == 0 { source = try DataSource(entry: tree.entries[item.entry]) }
    guard let source else { return nil }
    let offset = blockIndex * blockSize
    let job = BlockJob(
      sequence: sequence, source: source, offset: offset, length: min(blockSize, item.size - offset),
      encoding: item.encoding)
    let result = (itemIndex, blockIndex, job)
    sequence += 1
    blockIndex += 1
    if blockIndex == item.blockCount {
      itemIndex += 1
      blockIndex = 0
      self.source = nil
    }
    return result
  }
}

/// The queue between the writer and the workers. All fields are guarded by `condition`.
///
/// `NSCondition` rather than `Mutex`: workers are Foundation threads that must sleep until a job or a
/// result arrives, and `Mutex` cannot wait.
private final class PipelineState: @unchecked Sendable {
  private let condition = NSCondition()
  private var queue: [BlockJob] = []
  private var queueHead = 0
  private var results: [Int: Result<EncodedBlock, CramfsError>] = [:]
  private var closed = false
  private var liveWorkers = 0

  func startWorker(encoder: BlockEncoder) {
    condition.lock()
    liveWorkers += 1
    condition.unlock()
    let thread = Thread { [self] in self.work(encoder: encoder) }
    thread.name = "cramfs-compress"
    thread.start()
  }

  private func work(encoder: BlockEncoder) {
    condition.lock()
    while true {
      while queueHead == queue.count && !closed { condition.wait() }
      if queueHead == queue.count { break }
      let job = queue[queueHead]
      queueHead += 1
      if queueHead >= 256 {
        queue.removeFirst(queueHead)
        queueHead = 0
      }
      condition.unlock()
      let result = Result { () throws(CramfsError) -> EncodedBlock in try encoder.encode(job) }
      condition.lock()
      results[job.sequence] = result
      condition.broadcast()
    }
    liveWorkers -= 1
    condition.broadcast()
    condition.unlock()
  }

  func submit(_ job: BlockJob) {
    condition.lock()
    queue.append(job)
    condition.signal()
    condition.unlock()
  }

  /// Waits for the result of job `sequence` and removes it.
  func take(sequence: Int) -> Result<EncodedBlock, CramfsError> {
    condition.lock()
    defer { condition.unlock() }
    while true {
      if let result = results.removeValue(forKey: sequence) { return result }
      condition.wait()
    }
  }

  /// Drops queued jobs, stops the workers and waits until they have exited.
  func shutDown() {
    condition.lock()
    closed = true
    queue.removeAll()
    queueHead = 0
    results.removeAll()
    condition.broadcast()
    while liveWorkers > 0 { condition.wait() }
    condition.unlock()
  }
}
