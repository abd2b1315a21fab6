import ArgumentParser
import CramfsCommands

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `mkcramfs`: a drop-in for util-linux `mkfs.cramfs` and cramfs-tools `mkcramfs` (exit 0 / 8 / 16).
struct Mkcramfs: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "mkcramfs", abstract: "Make a cramfs image from a directory tree.")

  @OptionGroup var options: MakeOptions

  @Flag(name: .customShort("X"), help: "Execute-in-place layout (not supported yet).")
  var xip: Int

  @Option(name: .customShort("D"), help: ArgumentHelp("Device table (not supported yet).", valueName: "file"))
  var deviceTable: String?

  func run() throws {
    if xip > 0 || deviceTable != nil {
      printError("-X and -D are not supported yet")
      throw ExitCode(16)
    }
    try options.run(tool: "mkcramfs")
  }
}

func printError(_ message: String) {
  let line = Array("mkcramfs: error: \(message)\n".utf8)
  line.withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
}

// Parse and run by hand: usage mistakes exit 16 and failures 8, as mkcramfs does.
do {
  var command = try Mkcramfs.parseAsRoot()
  do {
    try command.run()
  } catch let code as ExitCode {
    exit(code.rawValue)
  }
} catch {
  let code = Mkcramfs.exitCode(for: error)
  if code == .success { Mkcramfs.exit(withError: error) }
  printError(Mkcramfs.message(for: error))
  exit(code == .validationFailure ? 16 : code.rawValue == 8 ? 8 : 16)
}
exit(0)
