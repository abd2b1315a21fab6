/// How ``ImageExtractor`` writes an image's tree.
public struct ExtractOptions: Sendable, Hashable {
  /// Extract into an existing non-empty directory: entries of the same name are replaced (never followed),
  /// existing directories are merged into. Without it, a non-empty target is refused.
  public var overwrite: Bool
  /// Set owners (uid, gid) from the image. Nil means: when running as root.
  public var preserveOwners: Bool?
  /// Threads that decompress and write file contents.
  public var threads: Int
  /// Keep at most this many diagnostics (the rest are counted).
  public var maxDiagnostics: Int
  /// Directory descriptors kept open at once; past it, queued files are written and finished
  /// directories closed.
  public var maxOpenDirectories: Int
  /// Counts entries and file bytes written, for a progress display; nil counts nothing. Totals grow as the
  /// tree is walked (before the file contents are written).
  public var progress: ProgressCounter?

  /// The defaults: refuse a non-empty target, owners as root only, 2 threads, 1000 diagnostics, 1000 open directories.
  public init(
    overwrite: Bool = false, preserveOwners: Bool? = nil, threads: Int = 2, maxDiagnostics: Int = 1000, maxOpenDirectories: Int = 1000
  ) {
    self.maxOpenDirectories = maxOpenDirectories
    self.overwrite = overwrite
    self.preserveOwners = preserveOwners
    self.threads = threads
    self.maxDiagnostics = maxDiagnostics
  }
}

/// What ``ImageExtractor`` did, and every problem it met (each names the entry's path in the image).
public struct ExtractReport: Sendable, Codable, Hashable {
  /// The problems met, in order (at most ``ExtractOptions/maxDiagnostics``); each names the entry.
  public var diagnostics: [Diagnostic] = []
  /// Problems beyond the kept diagnostics (counted, not kept).
  public var omittedCount = 0
  public var errorCount = 0
  public var warningCount = 0
  /// Entries created, by kind.
  public var directories = 0
  public var files = 0
  public var symlinks = 0
  /// Devices, fifos and sockets.
  public var specialFiles = 0
  /// Bytes of file content written.
  public var bytesWritten = 0

  /// An empty report.
  public init() {}

  /// Everything extracted without an error (warnings allowed).
  public var isClean: Bool { errorCount == 0 }
  /// Whether some failure came from the host (a failed system call) rather than from the image.
  public var hasHostFailures: Bool { diagnostics.contains { $0.code == .ioError } }
  /// The diagnostics' codes (handy in tests).
  public var codes: Set<Diagnostic.Code> { Set(diagnostics.map(\.code)) }
}
