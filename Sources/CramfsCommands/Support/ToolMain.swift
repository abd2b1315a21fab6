import ArgumentParser
import Cramfs

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Exit statuses of the tools, following `mkfs.cramfs` (0/8/16) and `fsck.cramfs` (0/4/8/16).
extension ExitCode {
  /// The checker found problems it did not correct (`FSCK_EX_UNCORRECTED`).
  public static let uncorrectedErrors = ExitCode(4)
  /// The operation failed: unreadable input, corrupt image, I/O error (`MKFS_EX_ERROR`, `FSCK_EX_ERROR`).
  public static let operationalError = ExitCode(8)
  /// The command line is wrong: unknown option, missing argument, bad value (`MKFS_EX_USAGE`, `FSCK_EX_USAGE`).
  public static let usageError = ExitCode(16)
}

/// Prints `<tool>: error: <message>` as one line on standard error.
///
///     printToolError("cannot open fw.img: No such file or directory", tool: "cramfs")
public func printToolError(_ message: String, tool: String) {
  printToolDiagnostic("error", message, tool: tool)
}

/// Prints `<tool>: warning: <message>` as one line on standard error.
public func printToolWarning(_ message: String, tool: String) {
  printToolDiagnostic("warning", message, tool: tool)
}

private func printToolDiagnostic(_ kind: String, _ message: String, tool: String) {
  // One line, whatever the message holds: names from a corrupt image may carry any byte.
  var flat = ""
  for scalar in message.split(whereSeparator: \.isNewline).joined(separator: " ").unicodeScalars {
    if scalar.value < 0x20 || scalar.value == 0x7F {
      let hex = String(scalar.value, radix: 16)
      flat += "\\x" + (hex.count < 2 ? "0" : "") + hex
    } else {
      flat.unicodeScalars.append(scalar)
    }
  }
  let line = Array("\(tool): \(kind): \(flat)\n".utf8)
  line.withUnsafeBytes { _ = try? FileOutput.standardError.writeAll($0) }
}

extension ParsableCommand {
  /// Parses the command line, runs the command and exits; the `main` of every tool of this package.
  ///
  ///     // Sources/mkcramfs/main.swift
  ///     MkcramfsCommand.runAsTool(name: "mkcramfs")
  ///
  /// - `--help` and `--version` print to standard output and exit 0.
  /// - A command-line mistake prints `<name>: error: <message>` and exits 16 (``ExitCode/usageError``).
  /// - A ``CramfsError`` (or any other error) thrown by `run()` prints `<name>: error: <description>` and
  ///   exits 8 (``ExitCode/operationalError``).
  /// - A thrown `ExitCode` exits with that code and prints nothing (print your own diagnostics first).
  public static func runAsTool(name: String, arguments: [String]? = nil) -> Never {
    let command: ParsableCommand
    do {
      command = try parseAsRoot(arguments)
    } catch {
      exitForParseError(error, name: name)
    }
    var runnable = command
    do {
      try runnable.run()
    } catch {
      exitForRunError(error, name: name)
    }
    FileOutput.standardOutput.flushIgnoringErrors()
    terminate(0)
  }

  private static func exitForParseError(_ error: any Error, name: String) -> Never {
    let code = exitCode(for: error)
    if code == .success {
      // --help, --version, and other clean exits: ArgumentParser prints those.
      self.exit(withError: error)
    }
    var text = message(for: error)
    if text.hasPrefix("Error: ") { text.removeFirst("Error: ".count) }
    if code == .validationFailure {
      printToolError(text + " (see '\(name) --help')", tool: name)
      terminate(ExitCode.usageError.rawValue)
    }
    if !text.isEmpty { printToolError(text, tool: name) }
    terminate(code.rawValue)
  }

  private static func exitForRunError(_ error: any Error, name: String) -> Never {
    FileOutput.standardOutput.flushIgnoringErrors()
    switch error {
    case let exitCode as ExitCode:
      terminate(exitCode.rawValue)
    case let error as CramfsError:
      printToolError(error.toolDescription, tool: name)
      terminate(ExitCode.operationalError.rawValue)
    default:
      let code = exitCode(for: error)
      if code == .success || code == .validationFailure {
        // Help requested through `cramfs help ...`, or a ValidationError thrown by run().
        exitForParseError(error, name: name)
      }
      printToolError(message(for: error), tool: name)
      terminate(ExitCode.operationalError.rawValue)
    }
  }
}

extension CramfsError {
  /// The description without repeating a path the message already names.
  var toolDescription: String {
    var copy = self
    if let path, message.contains(path) { copy.path = nil }
    // The library cannot name the options; the tools can.
    switch code {
    case .ambiguousBlockSize: return copy.description + ": give --block-size"
    case .targetNotEmpty: return copy.description + " (use --force to extract into it)"
    case .warningsAreErrors: return copy.description + " (-E)"
    default: return copy.description
    }
  }
}

extension CramfsCommand {
  /// Runs `cramfs` with one-line errors and the mkfs/fsck exit codes (see ``ParsableCommand/runAsTool(name:arguments:)``).
  ///
  /// Shadows ArgumentParser's `main()`, so `CramfsCommand.main()` in `Sources/cramfs/main.swift` gets this behaviour.
  public static func main() {
    runAsTool(name: "cramfs")
  }
}

/// Ends the process (the global `exit`, which `ParsableCommand.exit(withError:)` hides inside extensions).
private func terminate(_ code: Int32) -> Never {
  exit(code)
}
