import Cramfs

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `cramfsck`: a drop-in for util-linux `fsck.cramfs [-v] [-b blksize] [--extract[=dir]] image` and
/// cramfs-tools `cramfsck [-hvc] [-x dir] image`.
///
/// Without extraction it checks everything (util-linux checks only the superblock and CRC then); with a
/// directory it checks the structure and extracts, reporting corrupt blocks as it goes.
/// Exit status: 0 clean, 4 problems found, 8 operational error, 16 usage.
public enum CramfsckCommand {
  /// The parsed command line.
  public struct Options: Equatable, Sendable {
    /// How many `-v` were given.
    public var verbosity = 0
    /// `-b`: forced block size.
    public var blockSize: Int?
    /// Extract into this directory (`-x dir`, `--extract=dir`).
    public var extractDirectory: String?
    /// `--extract` without a directory: decompress everything without writing (the default check does
    /// that too); with `-v` it lists the entries as `fsck.cramfs -v --extract` does.
    public var testsDecompression = false
    /// The image to check (nil only with `--help` or `--version`).
    public var image: String?
    public var help = false
    public var version = false

    /// No options: check, quietly.
    public init() {}
  }

  /// A command-line mistake (exit 16).
  public struct UsageError: Error, Equatable, Sendable {
    /// What is wrong with the command line.
    public var message: String
  }

  static let usage = """
    Usage:
     cramfsck [options] <file>

    Check a compressed ROM filesystem (every superblock field, directory, name, pointer table and block),
    optionally extracting it.

    Options:
     -v, --verbose            be more verbose
     -b, --blocksize <size>   use this block size (detected from the data by default)
         --extract[=<dir>]    test decompression, and extract into <dir> when given
     -x <dir>                 extract into <dir> (cramfs-tools spelling)
     -c                       check only (the default)
     -a, -y                   for compatibility only, ignored
     -h, --help               display this help
     -V, --version            display version

    Exit status: 0 clean, 4 problems found, 8 operational error, 16 usage.

    """

  /// Parses the arguments (without the program name) the way getopt would.
  public static func parse(_ arguments: [String]) throws(UsageError) -> Options {
    var options = Options()
    var positional: [String] = []
    var index = 0
    func value(for option: String) throws(UsageError) -> String {
      index += 1
      guard index < arguments.count else { throw UsageError(message: "option '\(option)' requires an argument") }
      return arguments[index]
    }
    func blockSize(_ text: String) throws(UsageError) -> Int {
      guard let value = Int(text), BlockSizes.isReadable(value) else {
        throw UsageError(message: "invalid blocksize argument: '\(text)' (\(BlockSizes.readableDescription))")
      }
      return value
    }
    var optionsEnded = false
    while index < arguments.count {
      let argument = arguments[index]
      if optionsEnded || argument == "-" || !argument.hasPrefix("-") {
        positional.append(argument)
      } else if argument == "--" {
        optionsEnded = true
      } else if argument.hasPrefix("--") {
        let body = argument.dropFirst(2)
        let name = body.split(separator: "=", maxSplits: 1).first.map(String.init) ?? ""
        let inline = body.contains("=") ? String(body.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[1]) : nil
        switch name {
        case "verbose": options.verbosity += 1
        case "help": options.help = true
        case "version": options.version = true
        case "blocksize", "block-size":
          let text: String
          if let inline { text = inline } else { text = try value(for: argument) }
          options.blockSize = try blockSize(text)
        case "extract":
          if let inline {
            guard !inline.isEmpty else { throw UsageError(message: "--extract= needs a directory") }
            options.extractDirectory = inline
          } else {
            options.testsDecompression = true
          }
        default: throw UsageError(message: "unrecognized option '\(argument)'")
        }
        if inline != nil && name != "blocksize" && name != "block-size" && name != "extract" {
          throw UsageError(message: "option '--\(name)' doesn't allow an argument")
        }
      } else {
        var letters = Array(argument.dropFirst())
        while !letters.isEmpty {
          let letter = letters.removeFirst()
          switch letter {
          case "v": options.verbosity += 1
          case "h": options.help = true
          case "V": options.version = true
          case "a", "y", "c": break
          case "b", "x":
            let text: String
            if letters.isEmpty { text = try value(for: "-\(letter)") } else { text = String(letters) }
            letters = []
            if letter == "b" { options.blockSize = try blockSize(text) } else { options.extractDirectory = text }
          default: throw UsageError(message: "invalid option -- '\(letter)'")
          }
        }
      }
      index += 1
    }
    if options.help || options.version { return options }
    guard positional.count == 1 else {
      throw UsageError(message: positional.isEmpty ? "no image given" : "bad usage: one image expected, got \(positional.count) arguments")
    }
    options.image = positional[0]
    return options
  }

  /// Runs `cramfsck` with `options`; returns the exit status.
  public static func run(_ options: Options) -> Int32 {
    if options.help {
      try? FileOutput.standardOutput.write(usage)
      FileOutput.standardOutput.flushIgnoringErrors()
      return 0
    }
    if options.version {
      try? FileOutput.standardOutput.write("cramfsck (swift-cramfs) \(swiftCramfsVersion)\n")
      FileOutput.standardOutput.flushIgnoringErrors()
      return 0
    }
    guard let image = options.image else { return 16 }
    let verbose = options.verbosity > 0
    // As fsck.cramfs -v: the byte order first, and with extraction every entry's line.
    let opened = verbose ? try? CramfsImage(path: image, blockSize: options.blockSize) : nil
    if let opened { try? FileOutput.standardOutput.write(FsckListing.endiannessLine(opened)) }
    do {
      guard let directory = options.extractDirectory else {
        if options.testsDecompression, let opened { try? FileOutput.standardOutput.write(try FsckListing.lines(opened, directory: nil)) }
        let status = try CheckRunner.check(
          path: image, offset: 0, options: CheckOptions(blockSize: options.blockSize), json: false, quiet: !verbose, tool: "cramfsck")
        FileOutput.standardOutput.flushIgnoringErrors()
        return status
      }
      if let opened { try? FileOutput.standardOutput.write(try FsckListing.lines(opened, directory: directory)) }
      // The extractor decompresses every block, so the check before it only looks at the structure.
      let report = try ImageChecker.check(path: image, options: CheckOptions(blockSize: options.blockSize, verifyBlocks: false))
      DiagnosticOutput.print(report.diagnostics, omitted: report.omittedCount, tool: "cramfsck")
      var status: Int32 = report.isClean ? 0 : 4
      guard report.blockSize != nil else { return 4 }  // no superblock or no root directory: nothing to extract
      let extracted = try CheckRunner.extract(
        path: image, offset: 0, blockSize: options.blockSize, directory: directory, options: ExtractOptions(), json: false,
        quiet: true, tool: "cramfsck")
      status = max(status, extracted)
      if verbose && status == 0 { try FileOutput.standardOutput.write("\(image): OK\n") }
      FileOutput.standardOutput.flushIgnoringErrors()
      return status
    } catch {
      FileOutput.standardOutput.flushIgnoringErrors()
      printToolError(error.description, tool: "cramfsck")
      return error.code == .io || error.code == .invalidArgument ? 8 : 4
    }
  }

  /// Parses the process's arguments, runs, and exits with fsck's status.
  public static func main() -> Never {
    let arguments = Array(CommandLine.arguments.dropFirst())
    if CramfsckDocumentation.isDocumentationRequest(arguments) {
      CramfsckDocumentation.main(arguments)  // prints and exits
      exit(0)
    }
    let status: Int32
    do {
      status = run(try parse(arguments))
    } catch {
      printToolError("\(error.message) (try 'cramfsck --help')", tool: "cramfsck")
      status = 16
    }
    exit(status)
  }
}
