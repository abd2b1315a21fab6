import ArgumentParser
import Cramfs

#if canImport(Glibc)
  import Glibc
#endif

extension CramfsCommand {
  /// `cramfs scan BLOB`: every cramfs image inside a file, and optionally each extracted.
  ///
  ///     $ cramfs scan flash.bin
  ///     0x00041000  little  pad 0    block 4096 (detected)  size 3649536 complete  crc ok  317 entries  "Compressed"
  public struct Scan: ParsableCommand {
    public static let configuration = CommandConfiguration(
      commandName: "scan",
      abstract: "Find every cramfs image inside a file (a flash dump, a firmware update).",
      discussion: """
        Looks for the superblock's magic in either byte order at every offset, with or without the 512-byte \
        pad, and reports each image that reads: offset, byte order, block size, size, whether it is complete \
        or cut off, CRC status (also byte-swapped CRCs), entries, flags and name. Images without \
        FSID_VERSION_2 are measured from their data. With --extract DIR each image is extracted into DIR/0xOFFSET; \
        a damaged image is extracted as far as it reads, and every unreadable entry is named. With --tar each \
        image becomes DIR/0xOFFSET.tar (a PAX archive) instead. On a terminal, a progress line for the search \
        and each extraction is drawn on standard error and cleared at the end; --progress draws it anywhere, \
        --no-progress never.
        Exit status: 0 (also when nothing is found), 4 when an extraction met problems, 8 unreadable file.
        """)

    @Argument(help: "The file to search.")
    public var blob: String

    @Flag(help: "Print a JSON array of the images found.")
    public var json = false

    @Option(name: .customLong("extract"), help: ArgumentHelp("Extract each image into DIR/0xOFFSET.", valueName: "dir"))
    public var extractDirectory: String?

    @Flag(help: "With --extract, write each image as a PAX archive DIR/0xOFFSET.tar (a damaged one is extracted as a tree instead, as far as it reads).")
    public var tar = false

    @OptionGroup public var progressOptions: ProgressOptions

    public init() {}

    public func validate() throws {
      if tar && extractDirectory == nil { throw ValidationError("--tar needs --extract DIR") }
    }

    public func run() throws {
      let showsProgress = progressOptions.isEnabled()
      let found = try ProgressDisplay.run(enabled: showsProgress, noun: "images") { (progress) throws(CramfsError) in
        try ImageScanner.scan(path: blob, progress: progress)
      }
      var extracted: [Int: ExtractReport] = [:]
      var written: [Int: String] = [:]
      if let extractDirectory {
        _ = mkdir(extractDirectory, 0o755)
        for image in found {
          let target = extractDirectory + "/" + Self.hex(image.offset)
          if tar {
            do {
              try ProgressDisplay.run(enabled: showsProgress, noun: "entries") { (progress) throws(CramfsError) in
                try TarExporter.export(image.image, to: target + ".tar", progress: progress)
              }
              extracted[image.offset] = ExtractReport()
              written[image.offset] = target + ".tar"
              continue
            } catch {
              printToolError("\(Self.hex(image.offset)): no archive (\(error.description)); extracting what reads into \(target)", tool: "cramfs")
            }
          }
          let report = try ProgressDisplay.run(enabled: showsProgress, noun: "entries") { (progress) throws(CramfsError) in
            var options = ExtractOptions()
            options.progress = progress
            return try ImageExtractor.extract(image.image, to: target, options: options)
          }
          DiagnosticOutput.print(report.diagnostics, omitted: report.omittedCount, tool: "cramfs")
          extracted[image.offset] = report
          written[image.offset] = target
        }
      }
      let out = FileOutput.standardOutput
      if json {
        try out.write(JSONValue.array(found.map { Self.json($0, extracted: extracted[$0.offset]) }).rendered(pretty: true) + "\n")
      } else if found.isEmpty {
        try out.write("no cramfs image found in \(blob)\n")
      } else {
        for image in found { try out.write(Self.line(image, extracted: extracted[image.offset], into: written[image.offset]) + "\n") }
      }
      try out.flush()
      if extracted.values.contains(where: { !$0.isClean }) { throw ExitCode.uncorrectedErrors }
    }

    static func hex(_ value: Int) -> String {
      let digits = String(value, radix: 16)
      return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    static func line(_ found: FoundImage, extracted: ExtractReport?, into path: String?) -> String {
      let image = found.image
      var fields = [
        hex(found.offset),
        image.geometry.byteOrder.rawValue,
        "pad \(image.geometry.superblockOffset)",
        "block \(image.blockSize) (\(image.blockSizeDetection.method.rawValue))",
        "size \(found.size)\(found.sizeIsMeasured ? " (measured)" : "") "
          + (found.isComplete ? "complete" : "cut off: \(found.available) bytes in the file"),
        "crc \(found.crc.rawValue)",
        found.entries.map { "\($0) entries" } ?? "tree unreadable: \(found.problem ?? "")",
        "flags \(image.superblock.flags)",
        "\"\(image.superblock.nameString)\"",
      ]
      if let enclosing = found.enclosingOffset { fields.append("inside the image at \(hex(enclosing))") }
      if let extracted, let path {
        let problems = extracted.errorCount + extracted.warningCount
        fields.append("extracted to \(path)" + (problems == 0 ? "" : " with \(problems) problems"))
      }
      return fields.joined(separator: "  ")
    }

    static func json(_ found: FoundImage, extracted: ExtractReport?) -> JSONValue {
      let image = found.image
      var members: [(String, JSONValue)] = [
        ("offset", .int(found.offset)),
        ("byteOrder", .string(image.geometry.byteOrder.rawValue)),
        ("pad", .int(image.geometry.superblockOffset)),
        ("blockSize", .int(image.blockSize)),
        ("blockSizeSource", .string(image.blockSizeDetection.method.rawValue)),
        ("size", .int(found.size)),
        ("sizeMeasured", .bool(found.sizeIsMeasured)),
        ("available", .int(found.available)),
        ("complete", .bool(found.isComplete)),
        ("crc", .string(found.crc.rawValue)),
        ("entries", found.entries.map { .int($0) } ?? .null),
        ("problem", found.problem.map { .string($0) } ?? .null),
        ("flags", .object([("value", .int(image.superblock.flags.rawValue)), ("names", .array(image.superblock.flags.names.map { .string($0) }))])),
        ("name", .string(image.superblock.nameString)),
        ("enclosingOffset", found.enclosingOffset.map { .int($0) } ?? .null),
      ]
      if let extracted {
        members.append(("extraction", .object([("errors", .int(extracted.errorCount)), ("warnings", .int(extracted.warningCount))])))
      }
      return .object(members)
    }
  }
}
