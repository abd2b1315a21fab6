import ArgumentParser
import Cramfs

extension CramfsCommand {
  /// `cramfs info IMAGE`: the superblock, the CRC and what the image holds.
  ///
  ///     $ cramfs info rootfs.img
  ///     byte order        little
  ///     block size        4096 (detected)
  ///     ...
  public struct Info: ParsableCommand {
    public static let configuration = CommandConfiguration(
      commandName: "info",
      abstract: "Show an image's superblock, CRC and contents summary.",
      discussion: """
        The compression ratio is the bytes of regular files divided by the image size. The CRC status is \
        "ok", "mismatch", or "unavailable" (no FSID_VERSION_2 flag, or size past the end of the file). \
        --svg FILE draws the image as a strip from offset 0 to its end (what each stretch of bytes holds, the \
        XIP area, and where the files the kernel maps whole, partly or not at all lie), with bytes and shares \
        per kind in a legend.
        """)

    @Argument(help: "The cramfs image.")
    public var image: String

    @Flag(help: "Print one JSON object.")
    public var json = false

    @Option(
      name: .customLong("svg"),
      help: ArgumentHelp(
        "Also draw where the image's bytes go (superblock, directories, pointer tables, compressed data, XIP "
          + "pages, padding; files by XIP mapping class) as an SVG picture in this file (- for standard output, "
          + "instead of the report).",
        valueName: "file"))
    public var svg: String?

    @OptionGroup public var imageOptions: ImageOptions

    public init() {}

    public func validate() throws {
      if svg == "-" && json { throw ValidationError("--svg - writes the picture to standard output; --json cannot go there too") }
    }

    public func run() throws {
      let image = try imageOptions.open(self.image)
      if let svg {
        let picture = ImageMapSVG(map: try ImageSpaceMap(image: image), title: self.image).rendered
        if svg == "-" {
          try FileOutput.standardOutput.write(picture)
          try FileOutput.standardOutput.flush()
          return
        }
        try FileOutput.writeFile(svg, contents: picture)
      }
      let report = InfoReport(
        image: image, path: self.image, offset: imageOptions.offset)
      let out = FileOutput.standardOutput
      try out.write(json ? report.json.rendered(pretty: true) + "\n" : report.text)
      try out.flush()
      if let failure = report.walkError { throw failure }
    }
  }
}

/// What `cramfs info` prints, gathered once for both the text and the JSON form.
struct InfoReport {
  let image: CramfsImage
  let path: String
  let offset: Int
  let summary: ImageSummary?
  let walkError: CramfsError?
  let checksum: (stored: UInt32, computed: UInt32)?

  init(image: CramfsImage, path: String, offset: Int) {
    self.image = image
    self.path = path
    self.offset = offset
    checksum = image.checksum()
    do {
      summary = try ImageSummary(image: image)
      walkError = nil
    } catch {
      summary = nil
      walkError = error
    }
  }

  var superblock: Superblock { image.superblock }

  /// Where the block size came from, in words.
  var blockSizeSource: String { image.blockSizeDetection.summary }

  var crcStatus: String {
    guard let checksum else { return "unavailable" }
    return checksum.stored == checksum.computed ? "ok" : "mismatch"
  }

  var signature: String { String(decoding: superblock.signature.prefix { $0 != 0 }, as: UTF8.self) }

  /// Regular-file bytes per image byte.
  var compressionRatio: Double? {
    guard let summary, superblock.size > 0 else { return nil }
    return Double(summary.fileBytes) / Double(superblock.size)
  }

  var text: String {
    var lines: [(String, String)] = [
      ("image", path + (offset != 0 ? " (at offset \(offset))" : "")),
      ("byte order", image.geometry.byteOrder.rawValue),
      ("pad", "\(image.geometry.superblockOffset) (superblock at offset \(image.geometry.superblockOffset))"),
      ("block size", "\(image.blockSize) (\(blockSizeSource))"),
      ("flags", superblock.flags.description),
      ("size", "\(superblock.size) bytes"),
      ("edition", String(superblock.fsid.edition)),
      ("name", superblock.nameString),
      ("signature", signature + (superblock.hasStandardSignature ? "" : " (non-standard)")),
      ("fsid blocks", String(superblock.fsid.blocks)),
      ("fsid files", String(superblock.fsid.files)),
    ]
    if let checksum {
      lines.append(("crc", "stored \(hex(checksum.stored)), computed \(hex(checksum.computed)), \(crcStatus)"))
    } else {
      lines.append(("crc", crcStatus))
    }
    if let summary {
      lines += [
        ("directories", String(summary.directories)), ("files", String(summary.files)),
        ("symlinks", String(summary.symlinks)),
        ("devices", "\(summary.devices) (\(summary.characterDevices) char, \(summary.blockDevices) block)"),
        ("fifos", String(summary.fifos)), ("sockets", String(summary.sockets)),
        ("file bytes", String(summary.fileBytes)),
      ]
    } else if let walkError {
      lines.append(("contents", "unreadable: \(walkError.description)"))
    }
    lines.append(("image size", "\(superblock.size) bytes (file holds \(image.fileLength) bytes from offset \(offset))"))
    if let ratio = compressionRatio { lines.append(("compression", format(ratio) + ":1")) }
    let width = lines.map(\.0.count).max() ?? 0
    return lines.map { $0.0 + String(repeating: " ", count: width - $0.0.count + 2) + $0.1 + "\n" }.joined()
  }

  var json: JSONValue {
    var members: [(String, JSONValue)] = [
      ("image", .string(path)),
      ("offset", .int(offset)),
      ("byteOrder", .string(image.geometry.byteOrder.rawValue)),
      ("pad", .int(image.geometry.superblockOffset)),
      ("blockSize", .int(image.blockSize)),
      ("blockSizeDetected", .bool(image.blockSizeWasDetected)),
      ("blockSizeSource", .string(image.blockSizeDetection.method.rawValue)),
      ("blockSizeContenders", .array(image.blockSizeDetection.contenders.map { .int($0) })),
      ("blockSizeCandidates", .array(image.blockSizeDetection.candidates.map {
        .object([("blockSize", .int($0.blockSize)), ("problems", .int($0.problems)), ("firstProblem", $0.firstProblem.map { .string($0) } ?? .null)])
      })),
      ("flags", .object([("value", .int(superblock.flags.rawValue)), ("names", .array(superblock.flags.names.map { .string($0) }))])),
      ("size", .int(superblock.size)),
      ("edition", .int(superblock.fsid.edition)),
      ("name", .string(superblock.nameString)),
      ("signature", .string(signature)),
      ("standardSignature", .bool(superblock.hasStandardSignature)),
      ("fsid", .object([("crc", .int(superblock.fsid.crc)), ("blocks", .int(superblock.fsid.blocks)), ("files", .int(superblock.fsid.files))])),
      ("crc", .object([
        ("stored", checksum.map { .int($0.stored) } ?? .null),
        ("computed", checksum.map { .int($0.computed) } ?? .null),
        ("status", .string(crcStatus)),
      ])),
      ("counts", summary?.json ?? .null),
      ("fileBytes", summary.map { .int($0.fileBytes) } ?? .null),
      ("symlinkBytes", summary.map { .int($0.symlinkBytes) } ?? .null),
      ("imageSize", .int(superblock.size)),
      ("fileLength", .int(image.fileLength)),
      ("compressionRatio", compressionRatio.map { .number(($0 * 1000).rounded() / 1000) } ?? .null),
    ]
    if let walkError { members.append(("error", .string(walkError.description))) }
    return .object(members)
  }

  private func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
  }

  private func format(_ value: Double) -> String {
    let hundredths = Int((value * 100).rounded())
    let fraction = hundredths % 100
    return "\(hundredths / 100)." + (fraction < 10 ? "0" : "") + String(fraction)
  }
}
