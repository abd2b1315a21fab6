import ArgumentParser

/// `cramfsck`'s command line described to swift-argument-parser, for its manual page and shell completions
/// only: `cramfsck` itself parses getopt style (``CramfsckCommand/parse(_:)``), which `--extract[=dir]` and
/// bundled short options need.
struct CramfsckDocumentation: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "cramfsck",
    abstract: "Check a compressed ROM filesystem, optionally extracting it.",
    discussion: """
      A drop-in for util-linux fsck.cramfs and cramfs-tools cramfsck. Checks every superblock field, directory, \
      name, pointer table and block (fsck.cramfs checks only the superblock and CRC without --extract), in either \
      byte order, with or without the 512-byte pad, every block kind. The block size is detected from the data \
      unless -b gives it. Exit status: 0 clean, 4 problems found, 8 operational error, 16 usage.
      """)

  @Flag(name: .shortAndLong, help: "Be more verbose (repeatable).")
  var verbose: Int

  @Option(name: [.customShort("b"), .customLong("blocksize")], help: ArgumentHelp("Use this block size.", valueName: "size"))
  var blockSize: Int?

  @Option(name: .customLong("extract"), help: ArgumentHelp(
    "Test decompression, and extract into <dir> when given (written --extract=<dir>; --extract alone only tests).",
    valueName: "dir"), completion: .directory)
  var extract: String?

  @Option(name: .customShort("x"), help: ArgumentHelp("Extract into <dir> (cramfs-tools spelling).", valueName: "dir"), completion: .directory)
  var extractDirectory: String?

  @Flag(name: .customShort("c"), help: "Check only (the default).")
  var checkOnly = false

  @Flag(name: .customShort("V"), help: "Display the version.")
  var version = false

  @Argument(help: "The image file or block device.", completion: .file())
  var image: String

  /// The arguments that ask swift-argument-parser for documentation rather than a check.
  static func isDocumentationRequest(_ arguments: [String]) -> Bool {
    guard let first = arguments.first else { return false }
    return first == "--experimental-dump-help" || first.hasPrefix("--generate-completion-script")
  }
}
