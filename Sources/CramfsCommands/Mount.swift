import ArgumentParser
import Cramfs

#if canImport(CramfsFUSE)
  import CramfsFUSE
#endif

extension CramfsCommand {
  /// `cramfs mount IMAGE DIR`: serves an image through FUSE, read-only.
  ///
  ///     $ cramfs mount fw.img /mnt/fw          # returns once mounted; fusermount3 -u /mnt/fw to stop
  ///     $ cramfs mount -f -o allow_other --offset 0x40000 flash.bin /mnt/fw
  public struct Mount: ParsableCommand {
    public static let configuration = CommandConfiguration(
      commandName: "mount",
      abstract: "Mount an image read-only through FUSE.",
      discussion: """
        Detaches once the mount is in place unless -f is given. Unmount with 'fusermount3 -u DIR' \
        (or SIGINT/SIGTERM to a foreground mount). Linux only (libfuse 3).
        """)

    @Argument(help: "The cramfs image (or a file that holds one at --offset).")
    public var image: String

    @Argument(help: "An existing, empty directory to mount on.")
    public var mountPoint: String

    @OptionGroup public var imageOptions: ImageOptions

    @Flag(name: [.customShort("f"), .customLong("foreground")], help: "Stay in the foreground.")
    public var foreground = false

    @Option(name: .customShort("o"), help: ArgumentHelp("FUSE mount options (allow_other, max_read=N, ...); ro is always set.", valueName: "options"))
    public var fuseOptions: [String] = []

    @Option(name: .customLong("threads"), help: "The most threads serving requests.")
    public var threads = 16

    @Option(name: .customLong("cache"), help: ArgumentHelp("Memory for decompressed blocks.", valueName: "bytes"), transform: parseByteCount)
    public var cacheBytes = 32 << 20

    @Option(
      name: .customLong("prefetch"),
      help: ArgumentHelp(
        "Small files after one being read that are decompressed ahead into the page cache, in bytes (0: off).",
        valueName: "bytes"), transform: parseByteCount)
    public var prefetchBytes = 4 << 20

    @Flag(name: [.customShort("d"), .customLong("debug")], help: "Print every FUSE request (implies -f).")
    public var debug = false

    public init() {}

    public func validate() throws {
      if threads < 1 || threads > 256 { throw ValidationError("--threads must be between 1 and 256") }
      if cacheBytes < 0 || cacheBytes > 1 << 40 { throw ValidationError("--cache must be between 0 and 1T") }
      if prefetchBytes < 0 || prefetchBytes > 1 << 30 { throw ValidationError("--prefetch must be between 0 and 1G") }
      // ro is always set; a later rw would override it (libfuse takes the last) and mount read-write.
      if fuseOptions.flatMap({ $0.split(separator: ",") }).contains("rw") {
        throw ValidationError("-o rw cannot be used: a cramfs mount is always read-only")
      }
    }

    public func run() throws {
      #if canImport(CramfsFUSE)
        let opened = try imageOptions.open(image)
        try opened.requireKnownBlockSize()
        var options = MountOptions()
        options.foreground = foreground || debug
        options.debug = debug
        options.fuseOptions = fuseOptions
        options.threads = threads
        options.cacheBytes = cacheBytes
        options.prefetchBytes = prefetchBytes
        try FUSESession.run(image: opened, source: image, mountPoint: mountPoint, options: options)
      #else
        throw CramfsError(.unsupportedFeature, "cramfs mount needs Linux and libfuse 3")
      #endif
    }
  }
}
