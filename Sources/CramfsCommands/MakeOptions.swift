import ArgumentParser
import Cramfs

/// The options of `cramfs make` and `mkcramfs`: the short letters of util-linux `mkfs.cramfs`
/// and cramfs-tools `mkcramfs`, with long names of our own.
public struct MakeOptions: ParsableArguments {
  @Option(
    name: [.customShort("b"), .customLong("block-size")],
    help: ArgumentHelp(
      "Block size: 4096, 16384 or 65536; must equal the target's page size.", valueName: "bytes"))
  public var blockSize: Int = 4096

  @Option(
    name: [.customShort("N"), .customLong("byte-order")],
    help: ArgumentHelp(
      "Byte order of the image: big, little or host (default).", valueName: "order"))
  public var byteOrder: String?

  @Flag(name: [.customShort("B"), .customLong("big-endian")], help: "Same as --byte-order big.")
  public var bigEndian = false

  @Flag(
    name: [.customShort("L"), .customLong("little-endian")], help: "Same as --byte-order little.")
  public var littleEndian = false

  @Flag(
    name: [.customShort("p"), .customLong("pad")],
    help: "Leave 512 zero bytes before the superblock for boot code.")
  public var pad = false

  @Option(
    name: [.customShort("e"), .customLong("edition")], help: "Edition number stored in the fsid.")
  public var edition: UInt32 = 0

  @Option(name: [.customShort("n"), .customLong("name")], help: "Volume name (at most 16 bytes).")
  public var name: String?

  @Option(
    name: [.customShort("i"), .customLong("insert")],
    help: ArgumentHelp(
      "Insert this file after the superblock (needs Linux 2.4 or later).", valueName: "file"))
  public var insert: String?

  @Flag(
    name: [.customShort("z"), .customLong("holes")],
    help: "Store all-zero blocks as holes (needs Linux 2.3.39 or later).")
  public var holes = false

  @Flag(
    name: [.customShort("q"), .customLong("squash-owners")],
    help: "Store every owner as uid 0, gid 0.")
  public var squashOwners = false

  @Option(
    name: .customLong("force-uid"),
    help: ArgumentHelp("Store every entry with this uid (0-65535).", valueName: "uid"))
  public var forceUID: UInt32?

  @Option(
    name: .customLong("force-gid"),
    help: ArgumentHelp("Store every entry with this gid (0-255).", valueName: "gid"))
  public var forceGID: UInt32?

  @Option(
    name: .customLong("offset"),
    help: ArgumentHelp(
      "The input is a cramfs image starting at this byte offset of its file (e.g. in a flash dump).",
      valueName: "bytes"))
  public var inputOffset: Int = 0

  @Flag(
    name: [.customShort("x"), .customLong("store-incompressible")],
    help: "Store blocks that do not shrink uncompressed (needs Linux 4.15 or later).")
  public var storeIncompressible = false

  @Option(
    name: .customLong("xip"),
    help: ArgumentHelp(
      "Execute in place: store files whose image path matches (fnmatch on the path with its leading '/', "
        + "e.g. '/bin/*', '*.so*'; a pattern that matches no file is a warning, an error with -E) "
        + "page aligned, contiguous and uncompressed, so the kernel maps them whole (Linux 4.15+, MTD). "
        + "Repeatable.",
      valueName: "pattern"))
  public var xipPatterns: [String] = []

  @Flag(
    name: .customShort("X"),
    help: ArgumentHelp(
      "Execute in place for ELF files: read-only PT_LOAD segments stored uncompressed, 8-byte aligned (no-MMU); give twice (-X -X) to align them to the page (cramfs-tools)."
    ))
  public var xipELFCount: Int

  @Option(
    name: .customLong("xip-elf"),
    help: ArgumentHelp(
      "Same as -X with an explicit alignment: 8 (no-MMU targets) or page.", valueName: "alignment"))
  public var xipELF: String?

  @Flag(
    name: .customLong("no-read-bug-guard"),
    help: ArgumentHelp(
      "Store a full-size last XIP page direct too (maps it; read() of it returns zeros on kernels with the defect, e.g. 6.1)."
    ))
  public var noReadBugGuard = false

  @Option(
    name: [.customShort("D"), .customLong("device-table")],
    help: ArgumentHelp(
      "Device table (cramfs-tools format): device nodes, fifos, directories and owners made in the image "
        + "only, one 'name type mode uid gid major minor start inc count' line each.",
      valueName: "file"))
  public var deviceTable: String?

  @Option(
    name: .customLong("level"),
    help: "Compression level (libdeflate 1-12, default 6; zlib 1-9, default 6).")
  public var level: Int?

  @Option(
    name: .customLong("deflate"),
    help: ArgumentHelp(
      "Deflate implementation: libdeflate (default) or zlib (the bytes mkfs.cramfs writes).",
      valueName: "name"))
  public var deflate: String = "libdeflate"

  @Option(
    name: [.customShort("j"), .customLong("jobs")],
    help: "Compression threads (default: the number of cores).")
  public var jobs: Int?

  @Flag(name: [.customShort("v"), .customLong("verbose")], help: "Print each file and a summary.")
  public var verbose = false

  @Flag(
    name: [.customShort("E"), .customLong("warnings-as-errors")],
    help: "Treat warnings as errors (exit 8).")
  public var warningsAreErrors = false

  @Flag(
    name: .customShort("s"),
    help: "Sort directory entries (always done; accepted for compatibility).")
  public var sortIgnored = false

  @Argument(
    help: ArgumentHelp(
      "What to put in the image: a directory, a tar archive (plain, gzip, bzip2, xz, zstd; - for "
        + "standard input) or a cramfs image, recognized by content.", valueName: "input"))
  public var directory: String

  @Argument(help: "The image file to write.")
  public var image: String

  public init() {}

  /// The library options these flags stand for.
  ///
  /// - Throws: ``CramfsError/Code/invalidArgument`` for a bad value (a usage error), including a malformed
  ///   device table (naming its line); ``CramfsError/Code/io`` for a device table that cannot be read.
  public func buildOptions() throws(CramfsError) -> BuildOptions {
    var options = BuildOptions()
    options.blockSize = blockSize
    switch (byteOrder, bigEndian, littleEndian) {
    case (nil, false, false), ("host", false, false): options.byteOrder = .host
    case ("big", false, false), (nil, true, false): options.byteOrder = .big
    case ("little", false, false), (nil, false, true): options.byteOrder = .little
    case (let value?, false, false):
      throw CramfsError(
        .invalidArgument, "invalid byte order '\(value)'; must be 'big', 'little' or 'host'")
    default:
      throw CramfsError(.invalidArgument, "give only one of -N, -B and -L")
    }
    options.padsBootSector = pad
    options.edition = edition
    if let name { options.volumeName = Array(name.utf8) }
    options.insertedFile = insert
    options.holes = holes
    options.squashOwners = squashOwners
    options.forcedUID = forceUID
    options.forcedGID = forceGID
    options.storeIncompressibleBlocks = storeIncompressible
    guard let implementation = DeflateImplementation(rawValue: deflate) else {
      throw CramfsError(
        .invalidArgument, "unknown deflate implementation '\(deflate)'; use libdeflate or zlib")
    }
    options.deflate = implementation
    options.xipPatterns = xipPatterns
    switch (xipELF, xipELFCount) {
    case (nil, 0): options.xipELF = nil
    case (nil, 1): options.xipELF = .eightBytes
    case (nil, _): options.xipELF = .page
    case (let value?, 0):
      guard let alignment = XIPAlignment(rawValue: value) else {
        throw CramfsError(.invalidArgument, "invalid --xip-elf '\(value)'; must be '8' or 'page'")
      }
      options.xipELF = alignment
    default:
      throw CramfsError(.invalidArgument, "give either -X or --xip-elf, not both")
    }
    if let deviceTable { options.deviceTable = try DeviceTable(contentsOf: deviceTable) }
    options.readBugGuard = !noReadBugGuard
    options.level = level
    if let jobs { options.jobs = jobs }
    options.warningsAreErrors = warningsAreErrors
    if verbose { options.log = { print($0) } }
    // Options that would be accepted and change nothing: refused, so a mistaken command line is noticed.
    if squashOwners && forceUID != nil && forceGID != nil {
      throw CramfsError(
        .invalidArgument, "-q does nothing with both --force-uid and --force-gid (they set every owner); give one or the other")
    }
    if noReadBugGuard && xipPatterns.isEmpty && options.xipELF == nil {
      throw CramfsError(.invalidArgument, "--no-read-bug-guard does nothing without --xip or -X (no page is stored direct)")
    }
    guard inputOffset >= 0 else {
      throw CramfsError(.invalidArgument, "--offset must not be negative, not \(inputOffset)")
    }
    try options.validate()
    return options
  }

  /// Builds the image and prints warnings and errors as `<tool>: warning: …` / `<tool>: error: …`.
  ///
  /// - Throws: ``ExitCode/usageError`` (16) for bad option values, ``ExitCode/operationalError`` (8) when
  ///   the build fails.
  ///
  /// - Parameter showsProgress: draw a progress line on standard error while the data is compressed.
  public func run(tool: String, showsProgress: Bool = false) throws {
    var options: BuildOptions
    do {
      options = try buildOptions()
    } catch {
      printToolError(error.toolDescription, tool: tool)
      throw ExitCode.usageError
    }
    do {
      let input = try ImageInputs.detect(directory, imageOffset: inputOffset)
      let report = try ProgressDisplay.run(enabled: showsProgress, noun: "files") {
        (progress) throws(CramfsError) in
        options.progress = progress
        return try ImageBuilder.build(from: input, to: image, options: options)
      }
      for warning in report.warnings {
        // The library names no option; the read-bug guard's is --no-read-bug-guard.
        let hint = warning.kind == .readBugGuard ? " (--no-read-bug-guard)" : ""
        printToolWarning(warning.description + hint, tool: tool)
      }
      if verbose {
        print(
          "\(image): \(report.imageSize) bytes, \(report.entries) entries, \(report.blocks) blocks, "
            + "\(report.deduplicatedFiles) deduplicated, flags \(report.flags)")
      }
      if verbose && (options.xipELF != nil || !options.xipPatterns.isEmpty) {
        var line =
          "XIP: \(report.xipFiles) files, \(report.directBlocks) direct blocks, "
          + "\(report.xipPaddingBytes) bytes of alignment padding"
        if !report.readBugGuardFiles.isEmpty {
          line += ", \(report.readBugGuardFiles.count) last pages kept non-direct (read-bug guard)"
        }
        print(line)
      }
    } catch {
      printToolError(error.toolDescription, tool: tool)
      throw ExitCode.operationalError
    }
  }
}
