@testable import Cramfs
import CramfsFormat
import CramfsTestSupport
import Foundation
import Synchronization
import Testing

/// The read-ahead plan alone: which page a fault answers, which pages it queues, how the window grows and
/// shrinks.
@Suite struct FillPlanTests {
  /// 4 KiB pages: windows of 16 to 1,024 pages, chunks of 8.
  static func plan(first: Int = 0, count: Int = 4000) -> FillPlan { FillPlan(firstPage: first, pageCount: count, pageSize: 4096) }

  /// Fills every queued chunk at once, as idle workers would.
  static func drain(_ plan: inout FillPlan) -> Int {
    var pages = 0
    while let chunk = plan.takeChunk() {
      #expect(chunk.count <= plan.chunkPages)
      plan.finished(chunk, copied: true, byWorker: true)
      pages += chunk.count
    }
    return pages
  }

  @Test func sizesFollowThePageSize() {
    let small = Self.plan()
    #expect((small.minimumWindow, small.maximumWindow, small.chunkPages) == (16, 1024, 8))
    let large = FillPlan(firstPage: 0, pageCount: 100, pageSize: 65536)
    #expect((large.minimumWindow, large.maximumWindow, large.chunkPages) == (1, 64, 1))
  }

  @Test func aFaultOnTheFirstPageStartsAForwardWindow() {
    var plan = Self.plan(first: 3)
    let decision = plan.fault(at: 3)
    #expect(decision.answer == 3)
    #expect(plan.queue == [4..<12, 12..<19])
    #expect(decision.chunksQueued == 2)
    #expect(plan.state(of: 3) == .filling)
    #expect(plan.state(of: 18) == .queued)
    #expect(plan.state(of: 19) == .missing)
  }

  @Test func aRandomFaultFillsItsPageAloneAndDropsTheQueue() {
    var plan = Self.plan()
    _ = plan.fault(at: 0)
    plan.finished(0..<1, copied: true, byWorker: false)
    #expect(!plan.queue.isEmpty)
    let decision = plan.fault(at: 2000)
    #expect(decision == FillPlan.Decision(answer: 2000, chunksQueued: 0))
    #expect(plan.queue.isEmpty)
    #expect(plan.window == 1)
    #expect(plan.state(of: 5) == .missing)
    // Out of the mapping (or in the direct prefix): nothing to do.
    #expect(plan.fault(at: 4000) == FillPlan.Decision())
  }

  @Test func aSequentialReaderGrowsTheWindowAndFillsEachPageOnce() {
    var plan = Self.plan()
    var windows: [Int] = []
    var answered = 0
    var readAhead = 0
    for page in 0..<4000 where plan.state(of: page) != .present {
      let decision = plan.fault(at: page)
      windows.append(plan.window)
      if let answer = decision.answer {
        plan.finished(answer..<(answer + 1), copied: true, byWorker: false)
        answered += 1
      }
      readAhead += Self.drain(&plan)
    }
    #expect(windows.prefix(8) == [16, 32, 64, 128, 256, 512, 1024, 1024])
    #expect(answered + readAhead == 4000)
    #expect(answered == windows.count)
  }

  @Test func aBackwardReaderGetsAWindowBelow() {
    var plan = Self.plan()
    _ = plan.fault(at: 3999)
    plan.finished(3999..<4000, copied: true, byWorker: false)
    #expect(plan.queue.isEmpty)
    // Two neighbouring faults: a stream, which may be chance, so two pages.
    let decision = plan.fault(at: 3998)
    #expect(decision.answer == 3998)
    #expect(plan.queue == [3997..<3998])
    plan.finished(3998..<3999, copied: true, byWorker: false)
    // The next fault (on the queued page) continues it: the window doubles, below.
    #expect(plan.fault(at: 3997).answer == 3997)
    #expect(plan.window == 4)
    #expect(plan.queue == [3994..<3997])
    plan.finished(3997..<3998, copied: true, byWorker: false)
    _ = Self.drain(&plan)
    _ = plan.fault(at: 3993)
    #expect(plan.window == 8)
    #expect(plan.queue == [3986..<3993])
  }

  @Test func aFaultOnAQueuedPageIsAnsweredAtOnce() {
    var plan = Self.plan()
    _ = plan.fault(at: 0)
    // The reader jumps ahead inside the window: that page is taken out of its chunk and answered.
    let decision = plan.fault(at: 6)
    #expect(decision.answer == 6)
    #expect(plan.queue.prefix(4) == [1..<6, 7..<9, 9..<16, 16..<24])
    #expect(plan.state(of: 6) == .filling)
    // A fault on a page a worker is filling waits for that worker's copy, and leaves the stream alone.
    let chunk = plan.takeChunk()
    #expect(chunk == 1..<6)
    let queued = plan.queue
    #expect(plan.fault(at: 2) == FillPlan.Decision())
    #expect(plan.queue == queued)
    #expect(plan.window == 32)
    #expect(plan.busy == 1)
    #expect(!plan.isIdle)
  }

  @Test func aFailedCopyLeavesThePagesMissing() {
    var plan = Self.plan()
    _ = plan.fault(at: 0)
    let chunk = plan.takeChunk()!
    plan.finished(chunk, copied: false, byWorker: true)
    #expect(chunk.allSatisfy { plan.state(of: $0) == .missing })
    #expect(plan.fault(at: chunk.lowerBound).answer == chunk.lowerBound)
  }
}

// Nested in FileMappingTests, which is serialized: its test of the process's anonymous memory must not run
// beside these large mappings.
extension FileMappingTests {
  /// Mappings filled by windows show exactly the file's bytes (what `cramfs cat` writes) whatever the order
  /// of the touches, fill each page once, and leave far pages alone.
  @Suite struct WindowTests {
    enum Layout: String, CaseIterable, Sendable {
      case compressed
      /// Direct pages first (mapped from the image file), then compressed, stored and hole blocks.
      case xipPrefix
    }

    enum Touch: Sendable, CustomStringConvertible {
      case sequential, reverse, random(percent: Int, seed: UInt64)
      var description: String {
        switch self {
        case .sequential: "sequential"
        case .reverse: "reverse"
        case .random(let percent, let seed): "random \(percent)% seed \(seed)"
        }
      }
      func pages(_ count: Int) -> [Int] {
        switch self {
        case .sequential: return Array(0..<count)
        case .reverse: return Array((0..<count).reversed())
        case .random(let percent, let seed):
          var generator = SeededGenerator(seed: seed)
          return Array(Array(0..<count).shuffled(using: &generator).prefix(max(1, count * percent / 100)))
        }
      }
    }

    static let touches: [Touch] = [.sequential, .reverse, .random(percent: 1, seed: 1), .random(percent: 1, seed: 2), .random(percent: 30, seed: 3)]

    /// A file of `pages` pages (the last one partial) in an image of `blockSize` blocks laid out as `layout`.
    static func image(_ layout: Layout, blockSize: Int, pages: Int) throws -> (CramfsImage, [UInt8], String) {
      var rng = SeededGenerator(seed: UInt64(blockSize + pages))
      // Compressible but not trivial: a byte pattern with random bytes mixed in.
      var content = (0..<((pages - 1) * blockSize + 777)).map { i in i % 5 == 0 ? UInt8(truncatingIfNeeded: rng.next()) : UInt8(i / 7 % 251) }
      var kinds = [BlockKind](repeating: .compressed, count: pages)
      if layout == .xipPrefix {
        for page in 0..<(pages / 4) { kinds[page] = .directUncompressed }
        kinds[pages / 2] = .uncompressed
        kinds[pages / 2 + 1] = .hole
        for i in ((pages / 2 + 1) * blockSize)..<((pages / 2 + 2) * blockSize) { content[i] = 0 }
      }
      let path = FileManager.default.temporaryDirectory.appendingPathComponent("cramfs-window-\(UUID().uuidString).img").path
      try Data(BlockKindForge(byteOrder: .host, blockSize: blockSize).image(content: content, kinds: kinds)).write(to: URL(fileURLWithPath: path))
      return (try CramfsImage(path: path, blockSize: blockSize), content, path)
    }

    @Test(arguments: [4096, 65536], Layout.allCases)
    func touchesInAnyOrderShowTheFile(blockSize: Int, layout: Layout) throws {
      // Large enough for the window to reach its 4 MiB maximum.
      let pages = blockSize == 4096 ? 1400 : 90
      let (image, content, path) = try Self.image(layout, blockSize: blockSize, pages: pages)
      defer { try? FileManager.default.removeItem(atPath: path) }
      let node = try image.lookup("/f")
      let expected = try image.contents(of: node)
      #expect(expected == content)
      for touch in Self.touches {
        let mapping = try FileMapping(image: image, node: node)
        #expect(mapping.fillMode == .onDemand || !TestEnvironment.isCI, "userfaultfd is refused on this CI machine")
        guard mapping.fillMode == .onDemand else { return }
        #expect((mapping.directPages > 0) == (layout == .xipPrefix))
        let filled = pages - mapping.directPages
        let order = touch.pages(pages)
        var wrong: [Int] = []
        for page in order {
          let range = (page * blockSize)..<min((page + 1) * blockSize, content.count)
          if !mapping.bytes[range].elementsEqual(content[range]) { wrong.append(page) }
        }
        #expect(wrong.isEmpty, "\(touch): pages \(wrong.prefix(10)) differ")
        mapping.waitUntilIdle()
        let afterTouch = (pages: mapping.pagesFilled, blocks: mapping.blocksDecompressed)
        #expect(afterTouch.blocks == afterTouch.pages, "\(touch): every block decompressed once, into a page")
        #expect(afterTouch.pages <= filled)
        #expect(mapping.anonymousBytes() == afterTouch.pages * blockSize, "\(touch)")
        switch touch {
        case .sequential, .reverse:
          #expect(afterTouch.pages == filled, "\(touch)")
        case .random(let percent, _):
          let touchedFilled = order.filter { $0 >= mapping.directPages }.count
          #expect(afterTouch.pages >= touchedFilled)
          if percent == 1 { #expect(afterTouch.blocks <= 2 * order.count, "\(touch): \(afterTouch.blocks) blocks for \(order.count) pages") }
        }
        #expect(Array(mapping.bytes) == expected, "\(touch)")
        mapping.waitUntilIdle()
        #expect(mapping.pagesFilled == filled, "\(touch)")
        #expect(mapping.blocksDecompressed == filled, "\(touch)")
        #expect(mapping.fillErrors.isEmpty)
      }
    }

    @Test(arguments: [4096, 65536])
    func farPagesStayUnfilled(blockSize: Int) throws {
      let pages = blockSize == 4096 ? 3000 : 200
      let (image, content, path) = try Self.image(.compressed, blockSize: blockSize, pages: pages)
      defer { try? FileManager.default.removeItem(atPath: path) }
      let mapping = try FileMapping(image: image, node: try image.lookup("/f"))
      guard mapping.fillMode == .onDemand else { return }
      // A short sequential read at the start: its window reaches a few hundred KiB, not the end.
      for page in 0..<20 { #expect(mapping.bytes[page * blockSize + 1] == content[page * blockSize + 1]) }
      mapping.waitUntilIdle()
      let window = FillPlan(firstPage: 0, pageCount: pages, pageSize: blockSize)
      #expect(mapping.pagesFilled >= 20)
      #expect(mapping.pagesFilled <= 20 + window.maximumWindow)
      #expect(mapping.pagesFilled < pages / 2)
      #expect(mapping.anonymousBytes() == mapping.pagesFilled * blockSize)
    }

    @Test(arguments: [4096, 65536])
    func threadsTouchingTogetherSeeTheFile(blockSize: Int) throws {
      let pages = blockSize == 4096 ? 1000 : 64
      let (image, content, path) = try Self.image(.xipPrefix, blockSize: blockSize, pages: pages)
      defer { try? FileManager.default.removeItem(atPath: path) }
      let mapping = try FileMapping(image: image, node: try image.lookup("/f"))
      guard mapping.fillMode == .onDemand else { return }
      // Four readers: two forwards and two backwards, interleaved, so that faults land on pages that another
      // thread's window is filling.
      let wrong = Mutex<[Int]>([])
      DispatchQueue.concurrentPerform(iterations: 4) { reader in
        let order = reader < 2 ? Array(stride(from: reader, to: pages, by: 2)) : Array(stride(from: pages - 1 - (reader - 2), through: 0, by: -2))
        for page in order {
          let range = (page * blockSize)..<min((page + 1) * blockSize, content.count)
          if !mapping.bytes[range].elementsEqual(content[range]) { wrong.withLock { $0.append(page) } }
        }
      }
      #expect(wrong.withLock { $0 }.isEmpty)
      mapping.waitUntilIdle()
      #expect(mapping.pagesFilled == pages - mapping.directPages)
      #expect(mapping.blocksDecompressed == mapping.pagesFilled)
    }

    @Test func aMappingDroppedDuringItsReadAheadGoesAway() throws {
      let (image, content, path) = try Self.image(.compressed, blockSize: 4096, pages: 600)
      defer { try? FileManager.default.removeItem(atPath: path) }
      let node = try image.lookup("/f")
      for round in 0..<30 {
        let mapping = try FileMapping(image: image, node: node)
        // Two sequential touches start a window; the mapping goes away while workers fill it.
        #expect(mapping.bytes[round] == content[round])
        #expect(mapping.bytes[4096 + round] == content[4096 + round])
      }
    }

    @Test func aCorruptBlockReadsAsZerosOnce() throws {
      var (image, content, path) = try Self.image(.compressed, blockSize: 4096, pages: 64)
      defer { try? FileManager.default.removeItem(atPath: path) }
      // Damage block 10's compressed stream in the file.
      let location = try image.location(of: try image.lookup("/f"), block: 10)
      var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
      for offset in (location.start + 2)..<(location.start + location.length) { bytes[offset] ^= 0x5A }
      try bytes.write(to: URL(fileURLWithPath: path))
      image = try CramfsImage(path: path, blockSize: 4096)
      let mapping = try FileMapping(image: image, node: try image.lookup("/f"))
      guard mapping.fillMode == .onDemand else { return }
      // Sequential: block 10 is decompressed by a worker, inside a window.
      let seen = Array(mapping.bytes)
      mapping.waitUntilIdle()
      #expect(seen[(10 * 4096)..<(11 * 4096)].allSatisfy { $0 == 0 })
      #expect(seen[..<(10 * 4096)] == content[..<(10 * 4096)])
      #expect(seen[(11 * 4096)...] == content[(11 * 4096)...])
      #expect(mapping.fillErrors.count == 1)
      #expect(mapping.pagesFilled == 64)
      #expect(mapping.blocksDecompressed == 64)
    }
  }
}
