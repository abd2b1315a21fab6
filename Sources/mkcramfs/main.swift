import ArgumentParser
import Cramfs
import CramfsCommands

/// `mkcramfs`: a drop-in for util-linux `mkfs.cramfs` and cramfs-tools `mkcramfs`
/// (exit 0 success, 8 error, 16 usage).
struct Mkcramfs: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "mkcramfs", abstract: "Make a cramfs image from a directory tree, a tar archive or another image.",
    version: "mkcramfs (swift-cramfs) \(swiftCramfsVersion)")

  @OptionGroup var options: MakeOptions

  func run() throws {
    try options.run(tool: "mkcramfs")
  }
}

Mkcramfs.runAsTool(name: "mkcramfs")
