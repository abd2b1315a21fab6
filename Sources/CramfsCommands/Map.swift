import ArgumentParser
import CCrypto
import Cramfs

#if canImport(Glibc)
  import Glibc
#endif

extension CramfsCommand {
  /// `cramfs map IMAGE PATH`: maps a file the way the kernel maps it from flash, touches its pages and reports.
  public struct Map: ParsableCommand {
    public static let configuration = CommandConfiguration(
      commandName: "map",
      abstract: "Map a file from an image as the kernel would (direct pages zero copy), touch it, report.",
      discussion: """
        Pages the kernel would map straight from flash are mapped straight from the image file; the rest \
        is filled on first touch (userfaultfd) by decompressing, or eagerly with --eager or where \
        userfaultfd is refused. --touch chooses the pages touched (one byte each, timed): every page in \
        order (sequential, the default) or backwards (reverse), or PERCENT of the pages in a random order \
        (random:PERCENT, seeded by --seed). Reports pages mapped directly, pages touched, pages filled and \
        blocks decompressed by the touch, the anonymous memory the mapping holds after it (Anonymous: of \
        its areas in /proc/self/smaps) and the SHA-256 of the content (read after the counts are taken).
        """)

    @Argument(help: "The cramfs image.")
    public var image: String

    @Argument(help: "The regular file inside the image.")
    public var path: String

    @Flag(help: "A private, copy-on-write mapping instead of a read-only one.")
    public var writable = false

    @Flag(help: "Fill non-direct pages when mapping instead of on first touch.")
    public var eager = false

    @Option(help: ArgumentHelp("Pages to touch: sequential, reverse or random:PERCENT.", valueName: "pattern"))
    public var touch: TouchPattern = .sequential

    @Option(help: "Seed of the random touch order.")
    public var seed: UInt64 = 1

    @Flag(help: "Print one JSON object.")
    public var json = false

    @OptionGroup public var imageOptions: ImageOptions

    public init() {}

    public func run() throws {
      let image = try imageOptions.open(self.image)
      let node = try image.lookup(path)
      let mapping = try FileMapping(image: image, node: node, writable: writable, lazy: !eager)
      let pages = mapping.mappedLength / mapping.pageSize
      let order = touch.pages(of: pages, seed: seed)
      let started = monotonicSeconds()
      let sum = Self.touch(mapping, pages: order)
      let touchSeconds = monotonicSeconds() - started
      // Counted once the read-ahead the touch started is done (its work is the touch's cost too), and
      // before the hash below reads (and so fills) every page.
      mapping.waitUntilIdle()
      let pagesFilled = mapping.pagesFilled
      let blocksDecompressed = mapping.blocksDecompressed
      guard let anonymousBytes = mapping.anonymousBytes() else {
        throw CramfsError(.io, "cannot read /proc/self/smaps to measure the mapping's memory")
      }
      let sha256 = Self.sha256(mapping.bytes)
      let perTouched = order.isEmpty ? 0 : Double(blocksDecompressed) / Double(order.count)

      let fields: [(String, JSONValue)] = [
        ("path", .string(path)), ("size", .int(mapping.length)), ("pageSize", .int(mapping.pageSize)),
        ("pages", .int(pages)), ("directPages", .int(mapping.directPages)), ("touch", .string(touch.description)),
        ("pagesTouched", .int(order.count)), ("pagesFilled", .int(pagesFilled)),
        ("blocksDecompressed", .int(blocksDecompressed)), ("blocksPerTouchedPage", .number(perTouched)),
        ("fillMode", .string(mapping.fillMode.rawValue)), ("writable", .bool(mapping.isWritable)),
        ("anonymousBytes", .int(anonymousBytes)), ("sha256", .string(sha256)),
        ("touchSeconds", .number(touchSeconds)), ("touchSum", .int(Int64(truncatingIfNeeded: sum))), ("fillErrors", .array(mapping.fillErrors.map { .string($0.description) })),
      ]
      let out = FileOutput.standardOutput
      if json {
        try out.write(JSONValue.object(fields).rendered(pretty: true) + "\n")
      } else {
        try out.write(
          """
          \(path): \(mapping.length) bytes, \(pages) pages of \(mapping.pageSize)
            mapped directly     \(mapping.directPages) pages
            touched             \(order.count) pages (\(touch))
            filled              \(pagesFilled) pages (\(mapping.fillMode.rawValue))
            blocks decompressed \(blocksDecompressed) (\(format3(perTouched)) per touched page)
            anonymous memory    \(anonymousBytes) bytes
            touch               \(format3(touchSeconds)) s
            sha256              \(sha256)

          """)
      }
      try out.flush()
      if let failure = mapping.fillErrors.first { throw failure }
    }

    /// Reads one byte of every machine page of the image pages `pages`, in that order; the sum keeps the
    /// optimizer from dropping the reads.
    static func touch(_ mapping: FileMapping, pages: [Int]) -> UInt64 {
      let machinePage = Int(sysconf(Int32(_SC_PAGESIZE)))
      var sum: UInt64 = 0
      for page in pages {
        let start = page * mapping.pageSize
        for offset in stride(from: start, to: min(start + mapping.pageSize, mapping.length), by: machinePage) {
          sum &+= UInt64(mapping.bytes[offset])
        }
      }
      return sum
    }

    static func sha256(_ bytes: UnsafeRawBufferPointer) -> String {
      var digest = [UInt8](repeating: 0, count: 32)
      _ = SHA256(bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count, &digest)
      return digest.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
  }
}

/// Which pages `cramfs map` touches, and in what order.
public enum TouchPattern: Equatable, Sendable, ExpressibleByArgument, CustomStringConvertible {
  /// Every page, first to last.
  case sequential
  /// Every page, last to first.
  case reverse
  /// This percentage of the pages (at least one), each once, in a random order.
  case random(percent: Double)

  public init?(argument: String) {
    switch argument {
    case "sequential": self = .sequential
    case "reverse": self = .reverse
    default:
      guard argument.hasPrefix("random:"), let percent = Double(argument.dropFirst("random:".count)),
        percent > 0, percent <= 100
      else { return nil }
      self = .random(percent: percent)
    }
  }

  public var description: String {
    switch self {
    case .sequential: "sequential"
    case .reverse: "reverse"
    case .random(let percent): "random:\(percent)"
    }
  }

  /// The page numbers to touch, in order, for a mapping of `count` pages.
  public func pages(of count: Int, seed: UInt64) -> [Int] {
    switch self {
    case .sequential: return Array(0..<count)
    case .reverse: return Array((0..<count).reversed())
    case .random(let percent):
      let wanted = min(count, max(1, Int((Double(count) * percent / 100).rounded())))
      // The first `wanted` places of a Fisher-Yates shuffle: distinct pages, in a random order.
      var pages = Array(0..<count)
      var generator = SplitMix64(seed: seed)
      for index in 0..<wanted { pages.swapAt(index, index + Int(generator.next() % UInt64(count - index))) }
      return Array(pages[0..<wanted])
    }
  }
}

/// A small seeded generator (SplitMix64), so that a random touch can be repeated.
private struct SplitMix64 {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

private func monotonicSeconds() -> Double {
  var clock = timespec()
  clock_gettime(CLOCK_MONOTONIC, &clock)
  return Double(clock.tv_sec) + Double(clock.tv_nsec) / 1e9
}

private func format3(_ value: Double) -> String {
  let scaled = Int((value * 1000).rounded())
  let fraction = String(scaled % 1000)
  return "\(scaled / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
}
