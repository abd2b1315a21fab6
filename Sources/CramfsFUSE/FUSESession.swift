import CFuse
import Cramfs

#if canImport(Glibc)
  import Glibc
#endif

/// How `cramfs mount` runs.
public struct MountOptions: Sendable {
  /// Stay in the foreground (otherwise detach once the mount is in place).
  public var foreground = false
  /// FUSE mount options, as given to `-o` (`allow_other`, `max_read=N`, ...); `ro` is always added.
  public var fuseOptions: [String] = []
  /// The most threads serving requests.
  public var threads = 16
  /// Memory for decompressed blocks shared by all threads.
  public var cacheBytes = 32 << 20
  /// Print every request (libfuse's `-d`).
  public var debug = false
  /// Bytes of small files after one being read that are stored ahead into the kernel's page cache
  /// (0: none). See ``Prefetcher``.
  public var prefetchBytes = 4 << 20

  public init() {}
}

/// Mounts an image with libfuse's low-level API and serves it until unmounted.
///
///     try FUSESession.run(image: image, source: "fw.img", mountPoint: "/mnt/fw", options: MountOptions())
///
/// Read-only always, multithreaded. SIGINT, SIGTERM and SIGHUP unmount and return; so does `fusermount3 -u`.
public enum FUSESession {
  /// The largest read request the kernel is told to send (1 MiB).
  public static let maxRequest = 1 << 20
  /// Seconds the kernel may cache entries and attributes: the image never changes.
  public static let cacheTimeout = 86_400.0 * 365

  /// Mounts `image` at `mountPoint`, detaches unless `options.foreground`, and serves until unmounted.
  ///
  /// Errors found before the mount is in place (a missing or busy mount point, a bad `-o` option, no
  /// `/dev/fuse`) throw, so they reach the terminal even without `-f`.
  ///
  /// - Parameter source: what `/proc/mounts` shows as the source (the image path).
  public static func run(image: CramfsImage, source: String, mountPoint: String, options: MountOptions) throws(CramfsError) {
    let directory = try MountPoint.validate(mountPoint)
    adviseSequential(image.storage.bytes)
    CFuse_installOneLineLogger()
    let context = FUSEContext(
      fileSystem: CramfsFileSystem(image: image, cacheBytes: options.cacheBytes), timeout: cacheTimeout, maxRead: maxRequest,
      prefetchBytes: options.prefetchBytes)
    let userData = Unmanaged.passRetained(context)
    defer { userData.release() }

    var arguments = fuse_args(argc: 0, argv: nil, allocated: 0)
    defer { fuse_opt_free_args(&arguments) }
    var list = ["cramfs", "-o", "ro,default_permissions,subtype=cramfs,fsname=" + escapeOption(source)]
    for option in options.fuseOptions where !option.isEmpty { list += ["-o", option] }
    if options.debug { list.append("-d") }
    for argument in list { fuse_opt_add_arg(&arguments, argument) }

    var operations = Operations.table()
    guard let session = fuse_session_new(&arguments, &operations, MemoryLayout<fuse_lowlevel_ops>.size, userData.toOpaque()) else {
      throw CramfsError(.invalidArgument, "cannot start a FUSE session (check the -o options: \(options.fuseOptions.joined(separator: ",")))")
    }
    defer { fuse_session_destroy(session) }
    CFuse_resetTerminationSignals()
    ShutdownWatcher.installHandlers()
    guard fuse_set_signal_handlers(session) == 0 else {
      throw CramfsError(.io, "cannot install signal handlers")
    }
    defer { fuse_remove_signal_handlers(session) }
    guard fuse_session_mount(session, directory) == 0 else {
      throw CramfsError(.io, "cannot mount on \(mountPoint)", path: mountPoint)
    }
    defer { fuse_session_unmount(session) }
    // Detach only now, so that every error above reached the terminal.
    _ = fuse_daemonize(options.foreground ? 1 : 0)
    // After fuse_daemonize, which forks: threads do not survive a fork.
    _ = context.prefetcher.start(session: session, threads: Prefetcher.defaultThreads)
    let watcher = ShutdownWatcher(session: session, prefetcher: context.prefetcher)
    do {
      try watcher.start()
    } catch {
      context.prefetcher.stop(answeringRequests: false)
      throw error
    }
    defer {
      watcher.finish()
      context.prefetcher.stop(answeringRequests: true)
    }
    let result = CFuse_sessionLoopMT(session, UInt32(max(1, options.threads)), UInt32(max(1, options.threads)))
    if result < 0 {
      throw SystemCall.error("the FUSE session ended with an error", errno: -result)
    }
  }

  /// Tells the kernel the mapped image is mostly read in order (files are laid out in tree order), so page
  /// faults on it read ahead in growing windows instead of 128 KiB around each fault.
  static func adviseSequential(_ bytes: UnsafeRawBufferPointer) {
    guard let base = bytes.baseAddress, bytes.count > 0 else { return }
    let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    let start = Int(bitPattern: base) & ~(page - 1)
    _ = madvise(UnsafeMutableRawPointer(bitPattern: start), Int(bitPattern: base) + bytes.count - start, MADV_SEQUENTIAL)
  }

  /// Escapes `,` and `\` for a `-o` value.
  static func escapeOption(_ value: String) -> String {
    var escaped = ""
    for character in value {
      if character == "," || character == "\\" { escaped.append("\\") }
      escaped.append(character)
    }
    return escaped
  }
}
