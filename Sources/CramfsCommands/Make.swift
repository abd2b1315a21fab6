import ArgumentParser
import Cramfs

extension CramfsCommand {
  /// `cramfs make INPUT IMAGE`: builds an image from a directory tree or a tar archive.
  public struct Make: ParsableCommand {
    public static let configuration = CommandConfiguration(
      commandName: "make",
      abstract: "Build a cramfs image from a directory tree or a tar archive.",
      discussion: """
        Walks DIR with lstat, deduplicates identical files of the same type, mode and owner, compresses \
        blocks on all cores and writes IMAGE through a temporary file renamed into place when complete. \
        With --deflate zlib --level 6 the image is byte for byte what util-linux mkfs.cramfs writes. \
        Execute in place: --xip PATTERN stores matching files whole, page aligned and uncompressed; -X (8-byte \
        aligned) or -X -X (page aligned) does so for the read-only PT_LOAD segments of ELF files. XIP blocks \
        go in one area after the compressed data, so alignment padding is paid rarely (-v reports it). \
        -D FILE applies a cramfs-tools device table to the scanned tree: device nodes, fifos, directories \
        and owners exist in the image only, so no root is needed; a malformed table is a usage error naming \
        its line. \
        INPUT may also be a tar archive (ustar, GNU, PAX; plain or gzip, bzip2, xz, lzma, lzip, zstd, lz4), \
        or - for one on standard input, recognized by content: owners and device numbers come from the \
        archive, hard links share data, missing parent directories are implied (0755, root), a leading / or \
        ./ is dropped, and a path given twice keeps the later entry (with a warning). A '..' component, an \
        entry type cramfs cannot hold, a file of 16 MiB or more, a name over 252 bytes or a damaged archive \
        stops the build with one line naming the entry. File data is kept in a temporary file beside IMAGE \
        (unlinked at once). --force-uid and --force-gid set every owner. \
        INPUT may also be a cramfs image (either byte order, padded or not, any block size, at --offset in \
        its file): it is rebuilt with the options given (byte order, block size, XIP layout, level) without \
        extracting it; modes, owners and device numbers are kept as stored. \
        On a terminal, a progress line (bytes and files compressed, rate, time left) is drawn on standard \
        error and cleared at the end; --progress draws it anywhere, --no-progress never (-v implies none). \
        Exit status: 0 success, 8 error, 16 usage.
        """)

    @OptionGroup public var options: MakeOptions

    @OptionGroup public var progressOptions: ProgressOptions

    public init() {}

    public func run() throws {
      // -v lines go to standard output, which a progress line on the same terminal would garble.
      try options.run(tool: "cramfs", showsProgress: progressOptions.isEnabled(quiet: options.verbose))
    }
  }
}
