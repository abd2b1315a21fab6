import ArgumentParser
import Cramfs

extension CramfsCommand {
  /// `cramfs xip IMAGE`: which pages of each regular file the kernel maps straight from the image.
  ///
  ///     $ cramfs xip rootfs.img
  ///     class    direct/pages  reason            path
  ///     whole         72/72                      /bin/busybox
  ///     partial        3/4    last page shared   /lib/libc.so.6
  public struct Xip: ParsableCommand {
    public static let configuration = CommandConfiguration(
      commandName: "xip",
      abstract: "Predict which file pages the kernel maps directly (execute in place).",
      discussion: """
        For each regular file: the pages a whole-file, read-only mmap maps straight from the image when it \
        is mounted from addressable memory (mtd:NAME on NOR flash, ROM, a physmap window), following the \
        kernel's rules, and for the others the reason. The block size is the target's page size.
        """)

    @Argument(help: "The cramfs image.")
    public var image: String

    @Option(help: ArgumentHelp("Physical address the image starts at (decimal or 0x hex).", valueName: "address"),
            transform: parseByteCount)
    public var base: Int = 0

    @Flag(help: "Print one JSON object.")
    public var json = false

    @OptionGroup public var imageOptions: ImageOptions

    public init() {}

    public func validate() throws {
      // A physical address is never negative (and would not convert to one).
      if base < 0 { throw ValidationError("--base must not be negative") }
    }

    public func run() throws {
      let image = try imageOptions.open(self.image)
      let report = try XIPAnalysis.analyze(image, physicalBase: UInt64(base))
      let out = FileOutput.standardOutput
      var text = Self.text(report)
      if !image.blockSizeDetection.alternatives.isEmpty {
        // Every size that fits the data gave this same prediction, but the page totals assume one.
        text += "page size \(image.blockSize): \(image.blockSizeDetection.summary)\n"
      }
      try out.write(json ? Self.json(report, image.blockSizeDetection).rendered(pretty: true) + "\n" : text)
      try out.flush()
    }

    static func json(_ report: XIPReport, _ detection: BlockSizeDetection) -> JSONValue {
      .object([
        ("pageSize", .int(report.pageSize)),
        ("pageSizeSource", .string(detection.method.rawValue)),
        ("physicalBase", .int(report.physicalBase)),
        ("files", .array(report.files.map { file in
          .object([
            ("path", .string(file.path)), ("size", .int(file.size)), ("pages", .int(file.pages)),
            ("directPages", .int(file.directPages)), ("mappingClass", .string(file.mappingClass.rawValue)),
            ("reason", file.reason.map { .string($0.rawValue) } ?? .null),
            ("directOffset", file.directOffset.map { .int($0) } ?? .null),
          ])
        })),
        ("totalPages", .int(report.totalPages)),
        ("directPages", .int(report.directPages)),
        ("bytesSaved", .int(report.bytesSaved)),
      ])
    }

    static func text(_ report: XIPReport) -> String {
      var out = "class    direct/pages  reason              path\n"
      for file in report.files {
        let counts = "\(file.directPages)/\(file.pages)"
        out += column(file.mappingClass.rawValue, 8) + " "
          + String(repeating: " ", count: max(0, 12 - counts.count)) + counts + "  "
          + column(file.reason?.rawValue ?? "", 20) + file.path + "\n"
      }
      let whole = report.files.filter { $0.mappingClass == .whole }.count
      let partial = report.files.filter { $0.mappingClass == .partial }.count
      out += "\(report.files.count) files: \(whole) whole, \(partial) partial, \(report.files.count - whole - partial) none; "
        + "\(report.directPages) of \(report.totalPages) pages direct; \(report.bytesSaved) bytes of RAM saved "
        + "(page size \(report.pageSize))\n"
      return out
    }

    /// `text` cut or padded with spaces to `width` characters.
    private static func column(_ text: String, _ width: Int) -> String {
      String(text.prefix(width)) + String(repeating: " ", count: max(0, width - text.count))
    }
  }
}
