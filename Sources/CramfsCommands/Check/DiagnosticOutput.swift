import Cramfs

/// Printing of checker and extractor results, shared by `cramfs check`, `cramfs extract` and `cramfsck`.
enum DiagnosticOutput {
  /// Each diagnostic as one line on standard error: `<tool>: error: <message> (at 0x…, in /path)`.
  static func print(_ diagnostics: [Diagnostic], omitted: Int, tool: String) {
    FileOutput.standardOutput.flushIgnoringErrors()
    for diagnostic in diagnostics {
      switch diagnostic.severity {
      case .error: printToolError(diagnostic.text, tool: tool)
      case .warning: printToolWarning(diagnostic.text, tool: tool)
      }
    }
    if omitted > 0 { printToolWarning("\(omitted) more problems not shown", tool: tool) }
  }

  static func json(_ diagnostic: Diagnostic) -> JSONValue {
    var members: [(String, JSONValue)] = [
      ("severity", .string(diagnostic.severity.rawValue)),
      ("code", .string(diagnostic.code.rawValue)),
    ]
    members.append(("offset", diagnostic.offset.map { .int($0) } ?? .null))
    members.append(("path", diagnostic.path.map { .string($0) } ?? .null))
    members.append(("message", .string(diagnostic.message)))
    return .object(members)
  }

  static func json(_ report: CheckReport, image: String) -> JSONValue {
    .object([
      ("image", .string(image)),
      ("clean", .bool(report.isClean)),
      ("errors", .int(report.errorCount)),
      ("warnings", .int(report.warningCount)),
      ("byteOrder", report.byteOrder.map { .string($0) } ?? .null),
      ("superblockOffset", report.superblockOffset.map { .int($0) } ?? .null),
      ("blockSize", report.blockSize.map { .int($0) } ?? .null),
      ("blockSizeDetected", .bool(report.blockSizeWasDetected)),
      ("blockSizeSource", report.blockSizeSource.map { .string($0) } ?? .null),
      ("directories", .int(report.directories)),
      ("files", .int(report.files)),
      ("symlinks", .int(report.symlinks)),
      ("specialFiles", .int(report.specialFiles)),
      ("blocksVerified", .int(report.blocksVerified)),
      ("omitted", .int(report.omittedCount)),
      ("diagnostics", .array(report.diagnostics.map(json))),
    ])
  }

  static func json(_ report: ExtractReport, image: String, directory: String) -> JSONValue {
    .object([
      ("image", .string(image)),
      ("directory", .string(directory)),
      ("clean", .bool(report.isClean)),
      ("errors", .int(report.errorCount)),
      ("warnings", .int(report.warningCount)),
      ("directories", .int(report.directories)),
      ("files", .int(report.files)),
      ("symlinks", .int(report.symlinks)),
      ("specialFiles", .int(report.specialFiles)),
      ("bytesWritten", .int(report.bytesWritten)),
      ("omitted", .int(report.omittedCount)),
      ("diagnostics", .array(report.diagnostics.map(json))),
    ])
  }

  /// `image: OK` or `image: 3 errors, 1 warning` on standard output.
  static func summary(_ image: String, errors: Int, warnings: Int) -> String {
    if errors == 0 && warnings == 0 { return "\(image): OK" }
    func plural(_ count: Int, _ word: String) -> String { "\(count) \(word)\(count == 1 ? "" : "s")" }
    return "\(image): \(plural(errors, "error")), \(plural(warnings, "warning"))"
  }
}

/// The checks and extraction behind `cramfs check`, `cramfs extract` and `cramfsck`, with fsck's exit codes.
enum CheckRunner {
  /// Checks `path`; prints diagnostics (or JSON) and returns the exit status: 0 clean, 4 problems.
  /// Throws ``CramfsError`` when the file cannot be read (exit 8).
  static func check(
    path: String, offset: Int, options: CheckOptions, json: Bool, quiet: Bool, tool: String, showsProgress: Bool = false
  ) throws(CramfsError) -> Int32 {
    let report = try ProgressDisplay.run(enabled: showsProgress, noun: "entries") { (progress) throws(CramfsError) in
      var options = options
      options.progress = progress
      return try ImageChecker.check(path: path, offset: offset, options: options)
    }
    if json {
      try FileOutput.standardOutput.write(DiagnosticOutput.json(report, image: path).rendered(pretty: true) + "\n")
    } else {
      DiagnosticOutput.print(report.diagnostics, omitted: report.omittedCount, tool: tool)
      if !quiet { try FileOutput.standardOutput.write(DiagnosticOutput.summary(path, errors: report.errorCount, warnings: report.warningCount) + "\n") }
    }
    return report.isClean ? 0 : 4
  }

  /// Extracts `path` into `directory`; returns 0, 4 (problems in the image) or 8 (host failures).
  static func extract(
    path: String, offset: Int, blockSize: Int?, directory: String, options: ExtractOptions, json: Bool, quiet: Bool, tool: String,
    showsProgress: Bool = false
  ) throws(CramfsError) -> Int32 {
    let image: CramfsImage
    do {
      image = try CramfsImage(path: path, blockSize: blockSize, offset: offset, readingAll: true)
    } catch where error.code != .io && error.code != .invalidArgument {
      // Not a usable cramfs image: a problem found, as fsck reports it (4), not an operational failure.
      if !quiet { printToolError(error.description, tool: tool) }
      return 4
    }
    try image.requireKnownBlockSize()
    let report = try ProgressDisplay.run(enabled: showsProgress, noun: "entries") { (progress) throws(CramfsError) in
      var options = options
      options.progress = progress
      return try ImageExtractor.extract(image, to: directory, options: options)
    }
    if json {
      try FileOutput.standardOutput.write(DiagnosticOutput.json(report, image: path, directory: directory).rendered(pretty: true) + "\n")
    } else {
      DiagnosticOutput.print(report.diagnostics, omitted: report.omittedCount, tool: tool)
      if !quiet && !report.isClean {
        try FileOutput.standardOutput.write(DiagnosticOutput.summary(path, errors: report.errorCount, warnings: report.warningCount) + "\n")
      }
    }
    if report.hasHostFailures { return 8 }
    return report.isClean ? 0 : 4
  }
}
