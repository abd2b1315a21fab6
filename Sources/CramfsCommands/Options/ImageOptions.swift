import ArgumentParser
import Cramfs

/// Options shared by the commands that read an image: `--block-size` and `--offset`.
///
///     struct Info: ParsableCommand {
///       @Argument var image: String
///       @OptionGroup var imageOptions: ImageOptions
///       func run() throws { let image = try imageOptions.open(image) }
///     }
public struct ImageOptions: ParsableArguments {
  @Option(
    name: [.customShort("b"), .customLong("block-size")],
    help: ArgumentHelp("Block size (the target's page size); detected from the data when omitted.", valueName: "bytes"),
    transform: parseByteCount)
  public var blockSize: Int?

  @Option(
    name: .customLong("offset"),
    help: ArgumentHelp("Where the image starts inside the file (decimal or 0x hex).", valueName: "bytes"),
    transform: parseByteCount)
  public var offset: Int = 0

  public init() {}

  public func validate() throws {
    if let blockSize, !BlockSizes.isReadable(blockSize) {
      throw ValidationError("--block-size \(blockSize) is not \(BlockSizes.readableDescription)")
    }
    if offset < 0 { throw ValidationError("--offset must not be negative") }
  }

  /// Opens the image at `path` with these options; `readingAll` for a command that reads every file.
  ///
  /// - Throws: ``CramfsError`` when the file cannot be read or is not a cramfs image.
  public func open(_ path: String, readingAll: Bool = false) throws(CramfsError) -> CramfsImage {
    try CramfsImage(path: path, blockSize: blockSize, offset: offset, readingAll: readingAll)
  }
}

/// Parses a byte count or offset: decimal, `0x` hex, or with a `k`/`K` (1024) or `M` (1024²) suffix.
public func parseByteCount(_ text: String) throws -> Int {
  var digits = Substring(text)
  var multiplier = 1
  if let last = digits.last, "kKmM".contains(last) {
    multiplier = (last == "k" || last == "K") ? 1024 : 1024 * 1024
    digits = digits.dropLast()
  }
  let value: Int?
  if digits.hasPrefix("0x") || digits.hasPrefix("0X") {
    value = Int(digits.dropFirst(2), radix: 16)
  } else {
    value = Int(digits)
  }
  guard let value, value <= Int.max / multiplier else {
    throw ValidationError("'\(text)' is not a number")
  }
  return value * multiplier
}
