import ArgumentParser
import CCrypto
import Cramfs

#if canImport(Glibc)
  import Glibc
#endif

extension CramfsCommand {
  /// `cramfs map IMAGE PATH`: maps a file the way the kernel maps it from flash, touches every page and reports.
  public struct Map: ParsableCommand {
    public static let configuration = CommandConfiguration(
      commandName: "map",
      abstract: "Map a file from an image as the kernel would (direct pages zero copy), touch it, report.",
      discussion: """
        Pages the kernel would map straight from flash are mapped straight from the image file; the rest \
        is filled on first touch (userfaultfd) by decompressing, or eagerly with --eager or where \
        userfaultfd is refused. Reports pages mapped directly, pages filled, the anonymous memory the \
        mapping holds after the touch (Anonymous: of its areas in /proc/self/smaps) and the SHA-256 of the content.
        """)

    @Argument(help: "The cramfs image.")
    public var image: String

    @Argument(help: "The regular file inside the image.")
    public var path: String

    @Flag(help: "A private, copy-on-write mapping instead of a read-only one.")
    public var writable = false

    @Flag(help: "Fill non-direct pages when mapping instead of on first touch.")
    public var eager = false

    @Flag(help: "Print one JSON object.")
    public var json = false

    @OptionGroup public var imageOptions: ImageOptions

    public init() {}

    public func run() throws {
      let image = try imageOptions.open(self.image)
      let node = try image.lookup(path)
      let mapping = try FileMapping(image: image, node: node, writable: writable, lazy: !eager)
      let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
      var clock = timespec()
      clock_gettime(CLOCK_MONOTONIC, &clock)
      let started = Double(clock.tv_sec) + Double(clock.tv_nsec) / 1e9
      // One byte of every page, summed and printed so that the optimizer keeps every read.
      var sum: UInt64 = 0
      for offset in stride(from: 0, to: mapping.length, by: pageSize) { sum &+= UInt64(mapping.bytes[offset]) }
      clock_gettime(CLOCK_MONOTONIC, &clock)
      let touchSeconds = Double(clock.tv_sec) + Double(clock.tv_nsec) / 1e9 - started
      guard let anonymousBytes = mapping.anonymousBytes() else {
        throw CramfsError(.io, "cannot read /proc/self/smaps to measure the mapping's memory")
      }
      var digest = [UInt8](repeating: 0, count: 32)
      _ = SHA256(mapping.bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), mapping.length, &digest)
      let sha256 = digest.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()

      let pages = mapping.mappedLength / mapping.pageSize
      let fields: [(String, JSONValue)] = [
        ("path", .string(path)), ("size", .int(mapping.length)), ("pageSize", .int(mapping.pageSize)),
        ("pages", .int(pages)), ("directPages", .int(mapping.directPages)), ("pagesFilled", .int(mapping.pagesFilled)),
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
            mapped directly   \(mapping.directPages) pages
            filled            \(mapping.pagesFilled) pages (\(mapping.fillMode.rawValue))
            anonymous memory  \(anonymousBytes) bytes
            touch             \(String(format3(touchSeconds))) s
            sha256            \(sha256)

          """)
      }
      try out.flush()
      if let failure = mapping.fillErrors.first { throw failure }
    }
  }
}

private func format3(_ value: Double) -> String {
  let scaled = Int((value * 1000).rounded())
  let fraction = String(scaled % 1000)
  return "\(scaled / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
}
