/// One problem the checker or the extractor found: how bad, what kind, where, and what.
///
///     let report = ImageChecker.check(image)
///     for problem in report.diagnostics { print(problem) }   // "error: crc error: stored 0x…, computed 0x… (at 0x20)"
///     if report.codes.contains(.crcMismatch) { … }
public struct Diagnostic: Sendable, Codable, Hashable, CustomStringConvertible {
  /// How serious a problem is.
  public enum Severity: String, Sendable, Codable, Hashable, Comparable {
    /// The kernel would misread or refuse the image, or a tool would fail on it.
    case error
    /// Legal but suspicious, or a known pitfall (such as the kernel's last-block quirk).
    case warning

    /// Warnings sort before errors.
    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs == .warning && rhs == .error }
  }

  /// How serious the problem is.
  public var severity: Severity
  /// The kind of problem; its raw value (`crc-mismatch`, `directory-loop`, ...) is what JSON and tests see.
  public var code: Code
  /// Byte offset in the image (from the start of the image, pad included), when the problem has one place.
  public var offset: Int?
  /// Path of the entry inside the image (`/a/b`; `/` for the root), when one entry is concerned.
  public var path: String?
  /// What is wrong, in one line, without the offset and path (see ``text``).
  public var message: String

  /// A diagnostic with the given severity, code and message, and where known its offset and path.
  public init(_ severity: Severity, _ code: Code, _ message: String, offset: Int? = nil, path: String? = nil) {
    self.severity = severity
    self.code = code
    self.message = message
    self.offset = offset
    self.path = path
  }

  /// A diagnostic from a `CramfsError`, keeping its offset and path.
  public init(_ severity: Severity = .error, code: Code, error: CramfsError, path: String? = nil) {
    self.init(severity, code, error.message, offset: error.offset, path: error.path ?? path)
  }

  /// `message (at 0x…, in /path)`: the text after `error: ` in the tools' one-line format.
  public var text: String {
    var text = message
    switch (offset, path) {
    case let (offset?, path?): text += " (at 0x\(String(offset, radix: 16)), in \(path))"
    case let (offset?, nil): text += " (at 0x\(String(offset, radix: 16)))"
    case let (nil, path?): text += " (in \(path))"
    case (nil, nil): break
    }
    return text
  }

  /// `error: message (at 0x…, in /path)`.
  public var description: String { "\(severity.rawValue): \(text)" }
}

/// Collects diagnostics up to a limit, counting (but not keeping) the rest.
struct DiagnosticSink {
  private(set) var diagnostics: [Diagnostic] = []
  private(set) var errorCount = 0
  private(set) var warningCount = 0
  let limit: Int

  init(limit: Int) { self.limit = max(limit, 1) }

  mutating func add(_ diagnostic: Diagnostic) {
    if diagnostic.severity == .error { errorCount += 1 } else { warningCount += 1 }
    if diagnostics.count < limit { diagnostics.append(diagnostic) }
  }

  // The message is made only for a diagnostic that is kept: past the limit a badly damaged image gives
  // thousands that are only counted.
  mutating func error(_ code: Diagnostic.Code, _ message: @autoclosure () -> String, offset: Int? = nil, path: String? = nil) {
    guard diagnostics.count < limit else { errorCount += 1; return }
    add(Diagnostic(.error, code, message(), offset: offset, path: path))
  }

  mutating func warning(_ code: Diagnostic.Code, _ message: @autoclosure () -> String, offset: Int? = nil, path: String? = nil) {
    guard diagnostics.count < limit else { warningCount += 1; return }
    add(Diagnostic(.warning, code, message(), offset: offset, path: path))
  }

  var omittedCount: Int { errorCount + warningCount - diagnostics.count }
}

/// `0x1f`: offsets in messages.
@inline(__always)
func hex(_ value: Int) -> String { "0x" + String(value, radix: 16) }
