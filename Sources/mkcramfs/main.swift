import ArgumentParser
import CramfsCommands

/// `mkcramfs`: a drop-in for util-linux `mkfs.cramfs` and cramfs-tools `mkcramfs`
/// (exit 0 success, 8 error, 16 usage).
struct Mkcramfs: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "mkcramfs", abstract: "Make a cramfs image from a directory tree.")

  @OptionGroup var options: MakeOptions

  @Option(
    name: .customShort("D"),
    help: ArgumentHelp("Device table (cramfs-tools; not supported yet).", valueName: "file"))
  var deviceTable: String?

  func run() throws {
    if deviceTable != nil {
      printToolError("-D is not supported yet", tool: "mkcramfs")
      throw ExitCode.usageError
    }
    try options.run(tool: "mkcramfs")
  }
}

Mkcramfs.runAsTool(name: "mkcramfs")
