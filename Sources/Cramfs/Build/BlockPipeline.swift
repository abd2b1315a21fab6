/// A block as it goes into the image.
struct EncodedBlock: Sendable {
  enum Kind: Sendable { case compressed, uncompressed, hole }
  var kind: Kind
  /// The stored bytes (empty for a hole).
  var bytes: [UInt8]
}

/// A batch of consecutive blocks of one run to encode: `length` bytes at `offset` of `source`, cut into
/// `blockSize` blocks (the last may be short). Batching cuts reads and thread wake-ups per block. A run
/// without blocks (an item whose blocks are all in the XIP area) is one job of length 0.
struct BlockJob: Sendable {
  var sequence: Int
  /// Index in `ImageLayout/runs`.
  var run: Int
  var item: Int
  var firstBlock: Int
  var source: DataSource
  var offset: Int
  var length: Int
  var blockSize: Int
  var encoding: BlockEncoding

  var blockCount: Int { (length + blockSize - 1) / blockSize }
}

/// Encodes blocks; owns its compressor and input buffer, so one per worker.
///
/// `@unchecked Sendable` only so that it can be handed to the worker thread that then owns it alone.
final class BlockEncoder: @unchecked Sendable {
  private let compressor: BlockCompressor
  private let input: UnsafeMutableRawBufferPointer

  init(options: BuildOptions) throws(CramfsError) {
    compressor = try BlockCompressor(implementation: options.deflate, level: options.effectiveLevel)
    input = .allocate(
      byteCount: BlockPipeline.batchBlocks(blockSize: options.blockSize) * options.blockSize,
      alignment: 16)
  }

  deinit { input.deallocate() }

  func encode(_ job: BlockJob) throws(CramfsError) -> [EncodedBlock] {
    let batch = UnsafeMutableRawBufferPointer(rebasing: input[0..<job.length])
    try job.source.read(at: job.offset, into: batch)
    var blocks: [EncodedBlock] = []
    blocks.reserveCapacity(job.blockCount)
    var start = 0
    while start < job.length {
      let end = min(start + job.blockSize, job.length)
      blocks.append(encodeBlock(UnsafeRawBufferPointer(rebasing: batch[start..<end]), job.encoding))
      start = end
    }
    return blocks
  }

  private func encodeBlock(_ raw: UnsafeRawBufferPointer, _ encoding: BlockEncoding) -> EncodedBlock
  {
    switch encoding {
    case .packed(let holes, let storeIncompressible):
      if holes && isAllZero(raw) { return EncodedBlock(kind: .hole, bytes: []) }
      var stream: [UInt8] = []
      compressor.compress(raw, appendingTo: &stream)
      if storeIncompressible && stream.count >= raw.count {
        return EncodedBlock(kind: .uncompressed, bytes: Array(raw))
      }
      return EncodedBlock(kind: .compressed, bytes: stream)
    case .stored:
      return EncodedBlock(kind: .uncompressed, bytes: Array(raw))
    case .directCompressed:
      var stream: [UInt8] = []
      compressor.compress(raw, appendingTo: &stream)
      if stream.count > Int(UInt16.max) {
        return EncodedBlock(kind: .uncompressed, bytes: Array(raw))
      }
      return EncodedBlock(kind: .compressed, bytes: stream)
    }
  }

}

/// Encodes every block of the data items on `jobs` workers and hands them back in order.
///
/// At most `jobs × windowPerJob` batches (each at most 64 KiB of input, or one block) are read, being
/// encoded or waiting to be written at any time, so memory does not grow with the image. Results are
/// consumed in sequence order, which makes the output the same for every `jobs` value. With one job the
/// work runs inline on the caller's thread (the serial version).
enum BlockPipeline {
  /// Batches in flight per worker.
  static let windowPerJob = 4
  static let batchBytes = 64 << 10

  static func batchBlocks(blockSize: Int) -> Int { max(1, batchBytes / blockSize) }

  /// Encodes `runs` (blocks of `items`) and calls `consume` with each job and its blocks, in order.
  static func run(
    runs: [BlockRun], items: [DataItem], tree: SourceTree, options: BuildOptions,
    consume: (BlockJob, [EncodedBlock]) throws(CramfsError) -> Void
  ) throws(CramfsError) {
    var producer = JobProducer(runs: runs, items: items, tree: tree, blockSize: options.blockSize)
    // Made here so that a failure is thrown to the caller, not met in a worker.
    let encoders = try (0..<max(1, options.jobs)).map { _ throws(CramfsError) in try BlockEncoder(options: options) }
    func serial() throws(CramfsError) {
      while let job = try producer.next() { try consume(job, try encoders[0].encode(job)) }
    }
    guard encoders.count > 1 else { return try serial() }
    let queue = Condition(PipelineQueue())
    let workers = Threads.start(count: encoders.count, name: "cramfs-compress") { [encoders] worker in
      work(queue, encoder: encoders[worker])
    }
    // No thread at all: the serial version. Fewer than asked: the same output, from fewer workers.
    guard !workers.isEmpty else { return try serial() }
    defer {
      queue.withLock { $0.close() }
      queue.broadcast()
      for worker in workers { worker.join() }
    }

    let window = workers.count * windowPerJob
    var pending: [BlockJob] = []  // submitted, not yet consumed, in order
    var pendingHead = 0
    var exhausted = false
    while true {
      while !exhausted && pending.count - pendingHead < window {
        guard let job = try producer.next() else {
          exhausted = true
          break
        }
        pending.append(job)
        queue.withLock { $0.submit(job) }
        queue.signal()
      }
      guard pendingHead < pending.count else { break }
      let job = pending[pendingHead]
      let result = queue.wait { $0.results.removeValue(forKey: job.sequence) }
      pendingHead += 1
      if pendingHead >= 1024 {
        pending.removeFirst(pendingHead)
        pendingHead = 0
      }
      try consume(job, try result.get())
    }
  }

  /// A worker: encodes queued jobs until the queue is closed.
  private static func work(_ queue: Condition<PipelineQueue>, encoder: BlockEncoder) {
    while case .encode(let job) = queue.wait({ $0.nextStep() }) {
      let result = Result { () throws(CramfsError) -> [EncodedBlock] in try encoder.encode(job) }
      queue.withLock { $0.results[job.sequence] = result }
      // The writer waits for one result, idle workers for jobs: all are woken, each checks its own.
      queue.broadcast()
    }
  }
}

/// Walks the runs' blocks in order, in batches, opening an item's source when its first run is due.
private struct JobProducer {
  let runs: [BlockRun]
  let items: [DataItem]
  let tree: SourceTree
  let blockSize: Int
  let batchBlocks: Int
  var runIndex = 0
  /// Blocks of the current run already handed out.
  var done = 0
  var sequence = 0
  var source: DataSource?
  var sourceItem = -1

  init(runs: [BlockRun], items: [DataItem], tree: SourceTree, blockSize: Int) {
    self.runs = runs
    self.items = items
    self.tree = tree
    self.blockSize = blockSize
    batchBlocks = BlockPipeline.batchBlocks(blockSize: blockSize)
  }

  mutating func next() throws(CramfsError) -> BlockJob? {
    guard runIndex < runs.count else { return nil }
    let run = runs[runIndex]
    let item = items[run.item]
    if sourceItem != run.item {
      source = run.count == 0 ? nil : try DataSource(entry: tree.entries[item.entry])
      sourceItem = run.count == 0 ? -1 : run.item
    }
    let count = min(batchBlocks, run.count - done)
    let firstBlock = run.firstBlock + done
    let offset = firstBlock * blockSize
    let job = BlockJob(
      sequence: sequence, run: runIndex, item: run.item, firstBlock: firstBlock,
      source: source ?? .bytes([]), offset: offset,
      length: count == 0 ? 0 : min(count * blockSize, item.size - offset), blockSize: blockSize,
      encoding: run.encoding)
    sequence += 1
    done += count
    if done == run.count {
      runIndex += 1
      done = 0
    }
    return job
  }
}

/// The queue between the writer and the workers, and their results; guarded by a ``Condition``.
private struct PipelineQueue: Sendable {
  enum Step {
    case encode(BlockJob)
    case stop
  }

  private var jobs: [BlockJob] = []
  private var head = 0
  private var closed = false
  /// Encoded jobs by sequence number, until the writer takes them.
  var results: [Int: Result<[EncodedBlock], CramfsError>] = [:]

  mutating func submit(_ job: BlockJob) { jobs.append(job) }

  /// A worker's next step; nil while there is nothing to do (it then sleeps).
  mutating func nextStep() -> Step? {
    guard head < jobs.count else { return closed ? .stop : nil }
    let job = jobs[head]
    head += 1
    if head >= 256 {
      jobs.removeFirst(head)
      head = 0
    }
    return .encode(job)
  }

  /// Drops queued jobs and results and tells the workers to stop (a job being encoded is finished).
  mutating func close() {
    closed = true
    jobs.removeAll()
    head = 0
    results.removeAll()
  }
}
