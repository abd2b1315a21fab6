/// Checks a cramfs image against everything the kernel checks at mount and read time and everything
/// util-linux `fsck.cramfs` and cramfs-tools `cramfsck` check, and reports every problem found.
///
///     let report = try ImageChecker.check(path: "rootfs.cramfs")
///     if !report.isClean { for problem in report.diagnostics { print(problem) } }
///
/// Never traps on hostile input: every read is bounds-checked, directory loops and overlapping
/// structures are detected, and the work done is bounded by the image's size.
public enum ImageChecker {
  /// Checks an opened image (its superblock has already been found and its root is a directory).
  public static func check(_ image: CramfsImage, options: CheckOptions = CheckOptions()) -> CheckReport {
    let all = image.storage.bytes
    let bytes = UnsafeRawBufferPointer(rebasing: all[(all.count - image.fileLength)...])
    // A block size the image has settled is not detected again; an unsettled one is, for its diagnostics.
    let detection = image.blockSizeDetection
    var options = options
    if options.blockSize == nil, [.given, .detected, .irrelevant].contains(detection.method) { options.blockSize = detection.blockSize }
    var report = check(bytes: bytes, options: options)
    if options.blockSize == detection.blockSize, detection.method != .given {
      report.blockSizeWasDetected = detection.method == .detected
      report.blockSizeSource = detection.method.rawValue
    }
    return report
  }

  /// Checks the image file at `path`, starting `offset` bytes into it.
  ///
  /// - Throws: `CramfsError` with code `io` only when the file cannot be read; everything wrong with
  ///   its content is a diagnostic in the report.
  public static func check(path: String, offset: Int = 0, options: CheckOptions = CheckOptions()) throws(CramfsError) -> CheckReport {
    let mapping = try MappedFile(path: path, readingAll: true)
    guard offset >= 0, offset <= mapping.bytes.count else {
      throw CramfsError(.invalidArgument, "offset \(offset) is past the end of \(path) (\(mapping.bytes.count) bytes)", path: path)
    }
    return withExtendedLifetime(mapping) {
      check(bytes: UnsafeRawBufferPointer(rebasing: mapping.bytes[offset...]), options: options)
    }
  }

  /// Checks image bytes held in memory.
  public static func check<C: Collection>(bytes: C, options: CheckOptions = CheckOptions()) -> CheckReport where C.Element == UInt8 {
    let storage = ImageStorage(copying: bytes)
    return withExtendedLifetime(storage) { check(bytes: storage.bytes, options: options) }
  }

  /// Checks the image in `bytes` (which must stay valid during the call).
  public static func check(bytes: UnsafeRawBufferPointer, options: CheckOptions = CheckOptions()) -> CheckReport {
    var report = CheckReport()
    var sink = DiagnosticSink(limit: options.maxDiagnostics)
    defer { _ = sink }
    guard let context = SuperblockChecks.run(bytes: bytes, options: options, sink: &sink, report: &report) else {
      report.take(sink)
      return report
    }
    let detection = context.blockSizeDetection
    guard detection.method == .undecided else {
      var tree = TreeChecker(context: context, options: options)
      tree.run(sink: &sink, report: &report)
      report.take(sink)
      return report
    }
    // The data does not decide the block size: check under each size that fits it, and report the check
    // that finds the fewest errors (a wrong size shows as errors of its own).
    var best: CheckReport?
    for blockSize in detection.contenders {
      var trial = (context: context, sink: sink, report: report)
      trial.context.blockSize = blockSize
      trial.report.blockSize = blockSize
      trial.sink.warning(
        .ambiguousBlockSize,
        "the block size is not recorded and the data does not decide it (\(detection.summary)); checked with \(blockSize), "
          + "which leaves the fewest errors: give the block size to be sure",
        offset: context.geometry.superblockOffset + 4)
      var tree = TreeChecker(context: trial.context, options: options)
      tree.run(sink: &trial.sink, report: &trial.report)
      trial.report.take(trial.sink)
      if best.map({ trial.report.errorCount < $0.errorCount }) ?? true { best = trial.report }
    }
    return best ?? report
  }
}

/// What the superblock checks establish for the rest of the checker.
struct CheckContext {
  /// The image's bytes, bounded by the superblock's `size` when that is valid.
  var view: ByteView
  var geometry: ImageGeometry
  var superblock: Superblock
  var blockSize: Int
  /// How `blockSize` was found.
  var blockSizeDetection: BlockSizeDetection
  /// Length of the file the image came from.
  var fileLength: Int
}
