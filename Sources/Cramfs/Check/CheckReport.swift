/// What ``ImageChecker`` found: every problem, plus what it learned about the image.
public struct CheckReport: Sendable, Codable, Hashable {
  /// The problems, in the order they were found (at most ``CheckOptions/maxDiagnostics``).
  public var diagnostics: [Diagnostic]
  /// Problems found beyond ``CheckOptions/maxDiagnostics`` (counted, not kept).
  public var omittedCount: Int
  /// Errors found, including any beyond the kept diagnostics.
  public var errorCount: Int
  /// Warnings found, including any beyond the kept diagnostics.
  public var warningCount: Int
  /// `little` or `big`, when a superblock was found.
  public var byteOrder: String?
  /// 0 or 512, when a superblock was found.
  public var superblockOffset: Int?
  /// The block size used to check file data (given or detected).
  public var blockSize: Int?
  /// Whether ``blockSize`` was detected from the data rather than given.
  public var blockSizeWasDetected: Bool
  /// How ``blockSize`` was found: a ``BlockSizeDetection/Method`` raw value (`given`, `detected`,
  /// `assumed-irrelevant`, `undecided`, `damaged`).
  public var blockSizeSource: String?
  /// Entries seen below the root, by kind.
  public var directories: Int
  /// Regular files.
  public var files: Int
  public var symlinks: Int
  /// Devices, fifos and sockets.
  public var specialFiles: Int
  /// Blocks whose data was decompressed and verified.
  public var blocksVerified: Int

  /// An empty report (no problems, nothing seen).
  public init() {
    diagnostics = []
    omittedCount = 0
    errorCount = 0
    warningCount = 0
    blockSizeWasDetected = false
    directories = 0
    files = 0
    symlinks = 0
    specialFiles = 0
    blocksVerified = 0
  }

  /// No errors (warnings allowed).
  public var isClean: Bool { errorCount == 0 }
  /// The kept diagnostics of severity `error`.
  public var errors: [Diagnostic] { diagnostics.filter { $0.severity == .error } }
  /// The kept diagnostics of severity `warning`.
  public var warnings: [Diagnostic] { diagnostics.filter { $0.severity == .warning } }

  /// The diagnostics' codes (handy in tests).
  public var codes: Set<Diagnostic.Code> { Set(diagnostics.map(\.code)) }

  mutating func take(_ sink: DiagnosticSink) {
    diagnostics = sink.diagnostics
    omittedCount = sink.omittedCount
    errorCount = sink.errorCount
    warningCount = sink.warningCount
  }
}

/// What ``ImageChecker`` checks and how.
public struct CheckOptions: Sendable, Hashable {
  /// Forces the block size (the target's page size); detected from the data when nil.
  public var blockSize: Int?
  /// Decompresses and verifies every block (the slow part). Without it, pointer tables and block
  /// ranges are still checked.
  public var verifyBlocks: Bool
  /// When set, an image in the other byte order is an error (the kernel of that CPU refuses it).
  public var expectedByteOrder: ByteOrder?
  /// Keep at most this many diagnostics (the rest are counted).
  public var maxDiagnostics: Int
  /// Counts entries walked and compressed bytes verified, for a progress display; nil counts nothing.
  /// The byte total is known once the walk has found every block.
  public var progress: ProgressCounter?

  /// The defaults: detect the block size, verify every block, accept either byte order, keep 1000 diagnostics.
  public init(blockSize: Int? = nil, verifyBlocks: Bool = true, expectedByteOrder: ByteOrder? = nil, maxDiagnostics: Int = 1000) {
    self.blockSize = blockSize
    self.verifyBlocks = verifyBlocks
    self.expectedByteOrder = expectedByteOrder
    self.maxDiagnostics = maxDiagnostics
  }
}
