import ArgumentParser
import Cramfs

extension CramfsCommand {
  /// `cramfs check IMAGE`: everything the kernel and both fsck tools check; every problem is reported.
  public struct Check: ParsableCommand {
    public static let configuration = CommandConfiguration(
      commandName: "check",
      abstract: "Check an image: superblock, CRC, every directory, name, pointer table and block.",
      discussion: """
        Reports every problem as one line on standard error: 'cramfs: error: <message> (at 0x…, in /path)'.
        Exit status: 0 clean (warnings allowed), 4 problems found, 8 the image cannot be read, 16 usage.
        """)

    @Argument(help: "The image file (or block device).")
    public var image: String

    @OptionGroup public var imageOptions: ImageOptions

    @Flag(help: "Print the report as JSON on standard output.")
    public var json = false

    @Flag(help: "Skip decompressing blocks (structure, ranges and CRC are still checked).")
    public var noData = false

    @Option(
      name: .customLong("byte-order"),
      help: ArgumentHelp("Report an image of another byte order as an error: host, big or little.", valueName: "order"))
    public var byteOrder: String?

    @Flag(name: .shortAndLong, help: "Print nothing on standard output when the image is clean.")
    public var quiet = false

    @OptionGroup public var progressOptions: ProgressOptions

    public init() {}

    public func validate() throws {
      if let byteOrder, !["host", "big", "little"].contains(byteOrder) {
        throw ValidationError("--byte-order must be host, big or little")
      }
      // -q only drops the summary line, which --json never prints: together, -q would do nothing.
      if quiet && json { throw ValidationError("--quiet does nothing with --json (the JSON report is always printed)") }
    }

    public func run() throws {
      var options = CheckOptions(blockSize: imageOptions.blockSize, verifyBlocks: !noData)
      options.expectedByteOrder = byteOrder.map { $0 == "host" ? ByteOrder.host : ByteOrder(rawValue: $0) ?? .host }
      let status = try CheckRunner.check(
        path: image, offset: imageOptions.offset, options: options, json: json, quiet: quiet, tool: "cramfs",
        showsProgress: progressOptions.isEnabled(quiet: quiet))
      if status != 0 { throw ExitCode(status) }
    }
  }
}
