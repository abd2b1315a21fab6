import ArgumentParser
import Cramfs

extension CramfsCommand {
  /// `cramfs extract IMAGE DIR`: recreates the image's tree, never writing outside DIR;
  /// `cramfs extract IMAGE --tar FILE|-`: writes it as a PAX archive instead.
  public struct Extract: ParsableCommand {
    public static let configuration = CommandConfiguration(
      commandName: "extract",
      abstract: "Extract an image's files, directories, symlinks, devices, fifos and sockets into a directory.",
      discussion: """
        Modes (setuid, setgid, sticky included) are applied after contents; owners are set when run as root.
        Names that are empty, '.', '..', or contain '/' or NUL, and a second entry with an existing name, are
        refused; no symlink is ever followed. Corrupt blocks are reported and written as zeros.
        Sockets are created as socket nodes (as the kernel shows them); device nodes need root.
        With --tar FILE (- for standard output) and no DIR, the tree is written as a PAX archive instead: \
        numeric owners, all mode bits, device nodes, fifos and symlinks, in image order, every time 0, so \
        the same image gives the same bytes; no root needed. Files sharing data with the same mode and owner \
        (one inode in a mount) become hard links. Sockets have no tar type: they are left out \
        with a warning. A file is written through a temporary file renamed into place when complete. \
        cramfs make of the archive with the image's options gives the image back byte for byte. --json, \
        --force, --no-owners and --jobs shape an extraction into a directory and are refused with --tar. \
        On a terminal, a progress line (bytes and entries written, rate, time left) is drawn on standard error \
        and cleared at the end; --progress draws it anywhere, --no-progress never. \
        Exit status: 0 clean, 4 problems in the image, 8 operational failure, 16 usage.
        """)

    @Argument(help: "The image file.")
    public var image: String

    @Argument(help: "The target directory (created if missing; must be empty unless --force).")
    public var directory: String?

    @Option(
      name: .customLong("tar"),
      help: ArgumentHelp("Write a PAX archive to this file (- for standard output) instead of a directory.", valueName: "file"))
    public var tar: String?

    @OptionGroup public var imageOptions: ImageOptions

    @Flag(name: [.customShort("f"), .long], help: "Extract into a non-empty directory, replacing entries of the same name.")
    public var force = false

    @Flag(help: "Do not set owners, even as root.")
    public var noOwners = false

    @Option(name: [.customShort("j"), .long], help: "Threads that write file contents (default 2).")
    public var jobs: Int?

    @Flag(help: "Print the report as JSON on standard output.")
    public var json = false

    @OptionGroup public var progressOptions: ProgressOptions

    public init() {}

    public func validate() throws {
      if let jobs, jobs < 1 || jobs > 256 { throw ValidationError("--jobs must be between 1 and 256") }
      switch (directory, tar) {
      case (nil, nil): throw ValidationError("give a target directory or --tar FILE")
      case (.some, .some): throw ValidationError("give either a target directory or --tar, not both")
      default: break
      }
      // These shape an extraction to a directory; the archive writer has no use for them, so accepting
      // them with --tar would silently do nothing.
      if tar != nil {
        let ignored = [
          (json, "--json"), (force, "--force"), (noOwners, "--no-owners"), (jobs != nil, "--jobs"),
        ].filter(\.0).map(\.1)
        if let first = ignored.first {
          throw ValidationError("\(first) does nothing with --tar (it applies to extraction into a directory)")
        }
      }
    }

    public func run() throws {
      if let tar { return try exportTar(to: tar) }
      guard let directory else { throw ExitCode.validationFailure }
      var options = ExtractOptions(overwrite: force, threads: jobs ?? 2)
      if noOwners { options.preserveOwners = false }
      let status = try CheckRunner.extract(
        path: image, offset: imageOptions.offset, blockSize: imageOptions.blockSize, directory: directory, options: options,
        json: json, quiet: false, tool: "cramfs", showsProgress: progressOptions.isEnabled())
      if status != 0 { throw ExitCode(status) }
    }
  
    /// Writes the archive; one line and exit 8 on failure.
    private func exportTar(to destination: String) throws {
      do {
        let image = try imageOptions.open(image, readingAll: true)
        let report = try ProgressDisplay.run(enabled: progressOptions.isEnabled(), noun: "entries") {
          (progress) throws(CramfsError) in
          try TarExporter.export(image, to: destination == "-" ? nil : destination, progress: progress)
        }
        for socket in report.skippedSockets {
          printToolWarning("\(socket): socket left out (tar cannot hold sockets)", tool: "cramfs")
        }
      } catch {
        printToolError(error.toolDescription, tool: "cramfs")
        // As for a tree: damage in the image is a problem found (4); the host failing us, or a block size
        // the caller must give, is an operational error (8).
        let operational: [CramfsError.Code] = [.io, .invalidArgument, .ambiguousBlockSize]
        throw operational.contains(error.code) ? ExitCode.operationalError : ExitCode.uncorrectedErrors
      }
    }
  }
}
