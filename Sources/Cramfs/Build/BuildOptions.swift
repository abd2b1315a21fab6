#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// What ``ImageBuilder`` makes, and how.
///
/// The defaults make a classic image that every kernel reads: 4096-byte blocks, host byte order,
/// no pad, no holes, libdeflate at ``defaultLibdeflateLevel``.
///
///     var options = BuildOptions()
///     options.byteOrder = .big
///     options.holes = true
///     let report = try ImageBuilder.build(from: "rootfs", to: "rootfs.cramfs", options: options)
public struct BuildOptions: Sendable {
  /// The libdeflate level used when ``level`` is nil: the lowest level whose image was no larger than
  /// `mkfs.cramfs`'s (zlib level 6) on a 188 MB copy of part of `/usr/lib` (10,101 entries): level 6 gave
  /// 76,775,424 bytes against 76,939,264; level 5 gave 76,959,744, slightly larger.
  public static let defaultLibdeflateLevel = 6
  /// The zlib level `mkfs.cramfs` uses (`compress()`, `Z_DEFAULT_COMPRESSION`).
  public static let defaultZlibLevel = 6

  /// Block size in bytes; must equal the page size of the kernel that mounts the image.
  public var blockSize = 4096
  public var byteOrder: ByteOrder = .host
  /// Leave 512 zero bytes before the superblock (room for boot code).
  public var padsBootSector = false
  /// `fsid.edition`.
  public var edition: UInt32 = 0
  /// Volume name, at most 16 bytes.
  public var volumeName: [UInt8] = Superblock.defaultName
  /// A host file copied right after the superblock (zero padded to 4 bytes); sets `SHIFTED_ROOT_OFFSET`.
  public var insertedFile: String?
  /// Store all-zero blocks as zero-length holes; sets `HOLES`.
  public var holes = false
  /// Write every owner as uid 0, gid 0.
  public var squashOwners = false
  /// Write every entry with this uid (at most 65535), whatever the input says; a device table still
  /// sets its own entries' owners.
  public var forcedUID: UInt32?
  /// Write every entry with this gid (at most 255), like ``forcedUID``.
  public var forcedGID: UInt32?
  /// Store blocks that do not shrink verbatim with the `UNCOMPRESSED` pointer flag (needs a 4.15+ kernel).
  public var storeIncompressibleBlocks = false
  public var deflate: DeflateImplementation = .libdeflate
  /// Compression level; nil picks ``defaultLibdeflateLevel`` or ``defaultZlibLevel``.
  public var level: Int?
  /// The most compression workers a build may use.
  public static let maxJobs = 256
  /// Compression workers, 1 to ``maxJobs``.
  public var jobs: Int = BuildOptions.processorCount
  /// Execute in place, whole files: image paths (with a leading `/`) matching any of these `fnmatch`
  /// patterns (no `FNM_PATHNAME`: `*` also matches `/`) are stored direct and uncompressed, page aligned and
  /// contiguous, with the rest of the last page zeroed, so the kernel maps each whole (format doc §7).
  public var xipPatterns: [String] = []
  /// Execute in place for ELF files (cramfs-tools `-X`): the blocks that overlap a readable, non-writable
  /// `PT_LOAD` segment are stored direct and uncompressed with this alignment; nil turns it off.
  public var xipELF: XIPAlignment?
  /// Store a file's last page non-direct when the file's size is a multiple of the page and that page would
  /// be direct + uncompressed: the kernel's `read()` returns zeros for such a page (mmap is right).
  /// Turn off only for kernels with the defect fixed.
  public var readBugGuard = true
  /// A device table (`-D`) applied to the scanned tree before deduplication and layout: device nodes,
  /// fifos, directories and owners made in the image only (see ``SourceTree/apply(_:)``); nil for none.
  public var deviceTable: DeviceTable?
  /// Turn warnings (truncated owners, device numbers) into errors.
  public var warningsAreErrors = false
  /// Receives a line per written entry and a summary (the `-v` output); nil stays quiet.
  public var log: (@Sendable (String) -> Void)?
  /// Counts file data bytes and files written to the data area, for a progress display; nil counts nothing.
  /// While the input is read, entries (and a tar archive's data bytes) are counted with no totals; once
  /// the layout is planned the counter restarts with the totals of the data to write.
  public var progress: ProgressCounter?

  public init() {}

  /// The number of online processors (the default for ``jobs``).
  public static var processorCount: Int { Threads.processorCount }

  /// The level actually used.
  public var effectiveLevel: Int {
    level ?? (deflate == .libdeflate ? Self.defaultLibdeflateLevel : Self.defaultZlibLevel)
  }

  /// Offset of the superblock: 0, or 512 when padded.
  public var superblockOffset: Int { padsBootSector ? Superblock.padSize : 0 }

  /// Checks the values a caller can get wrong.
  ///
  /// - Throws: `CramfsError/Code/invalidArgument` naming the bad option.
  public func validate() throws(CramfsError) {
    guard BlockSizes.buildable.contains(blockSize) else {
      throw CramfsError(
        .invalidArgument,
        "block size \(blockSize) is not supported (use \(BlockSizes.buildable.map(String.init).joined(separator: ", ")))"
      )
    }
    guard volumeName.count <= 16 else {
      throw CramfsError(
        .invalidArgument, "volume name is \(volumeName.count) bytes; the limit is 16")
    }
    // Each job is a thread with its own compressor (up to about 1 MiB of state).
    guard (1...Self.maxJobs).contains(jobs) else {
      throw CramfsError(.invalidArgument, "jobs must be between 1 and \(Self.maxJobs), not \(jobs)")
    }
    if let uid = forcedUID, uid > Inode.maxUID {
      throw CramfsError(.invalidArgument, "forced uid \(uid) does not fit 16 bits (at most \(Inode.maxUID))")
    }
    if let gid = forcedGID, gid > Inode.maxGID {
      throw CramfsError(.invalidArgument, "forced gid \(gid) does not fit 8 bits (at most \(Inode.maxGID))")
    }
    if xipPatterns.contains(where: \.isEmpty) {
      throw CramfsError(.invalidArgument, "an XIP pattern is empty")
    }
    let range = deflate == .libdeflate ? 1...12 : 1...9
    guard range.contains(effectiveLevel) else {
      throw CramfsError(
        .invalidArgument,
        "compression level \(effectiveLevel) is not valid for \(deflate) (\(range.lowerBound)-\(range.upperBound))"
      )
    }
  }
}

/// How XIP blocks of ELF files are aligned in the image.
public enum XIPAlignment: String, Sendable, Hashable, CaseIterable {
  /// 8 bytes: enough for no-MMU targets, which map without alignment (cramfs-tools `-X`).
  case eightBytes = "8"
  /// The page (the block size): what MMU targets need (cramfs-tools `-X -X`).
  case page

  /// The alignment in bytes for `blockSize`-byte pages.
  public func bytes(blockSize: Int) -> Int { self == .page ? blockSize : 8 }
}

/// Something the builder changed to make the image, which may not be what the caller wanted.
public struct BuildWarning: Hashable, Sendable, CustomStringConvertible {
  public enum Kind: String, Hashable, Sendable {
    /// uid above 65535, stored truncated to 16 bits.
    case uidTruncated
    /// gid above 255, stored truncated to 8 bits.
    case gidTruncated
    /// A device number that does not fit 8-bit major, 8-bit minor.
    case deviceTruncated
    /// An XIP file's last page stored non-direct to dodge the kernel's `read()` defect (see
    /// ``BuildOptions/readBugGuard``); that page is not mapped directly. Not an error under
    /// ``BuildOptions/warningsAreErrors``.
    case readBugGuard
    /// A path given twice by an archive; the later entry replaced the earlier.
    case duplicatePath
    /// An XIP pattern that matches no regular file, so it changes nothing (often a missing leading `/`).
    case xipPatternUnmatched
    /// ELF XIP (`-X`) found no file with a read-only `PT_LOAD` segment (outside `--xip` matches), so it
    /// changes nothing.
    case xipELFUnmatched
    /// The inserted file (`-i`) is empty, so nothing is inserted.
    case insertedFileEmpty

    /// A value stored in fewer bits than it has: ``uidTruncated``, ``gidTruncated``, ``deviceTruncated``.
    public var isTruncation: Bool { self == .uidTruncated || self == .gidTruncated || self == .deviceTruncated }
  }

  public var kind: Kind
  /// The host path of the entry.
  public var path: String
  public var message: String

  public init(kind: Kind, path: String, message: String) {
    self.kind = kind
    self.path = path
    self.message = message
  }

  public var description: String { "\(path): \(message)" }

  /// What the image cannot hold of `entry`'s owner and device number (it keeps 16-bit uids, 8-bit gids and
  /// 8-bit major and minor numbers), one warning each, naming `path` (the entry's own by default);
  /// `location` (a device-table line) ends each message.
  /// Whether ``truncations(of:path:location:)`` finds anything in `entry`, without making any text.
  static func truncates(_ entry: SourceEntry) -> Bool {
    entry.uid > Inode.maxUID || entry.gid > Inode.maxGID || !(entry.device?.fitsInode ?? true)
  }

  static func truncations(of entry: SourceEntry, path: String? = nil, location: String? = nil) -> [BuildWarning] {
    let suffix = location.map { " (\($0))" } ?? ""
    let path = path ?? entry.path
    var warnings: [BuildWarning] = []
    if entry.uid > Inode.maxUID {
      warnings.append(
        BuildWarning(kind: .uidTruncated, path: path, message: "uid \(entry.uid) truncated to \(entry.uid & 0xFFFF) (16 bits)" + suffix))
    }
    if entry.gid > Inode.maxGID {
      warnings.append(
        BuildWarning(kind: .gidTruncated, path: path, message: "gid \(entry.gid) truncated to \(entry.gid & 0xFF) (8 bits)" + suffix))
    }
    if let device = entry.device, !device.fitsInode {
      let stored = DeviceNumber(inodeSize: device.inodeSize)
      warnings.append(
        BuildWarning(
          kind: .deviceTruncated, path: path,
          message: "device number \(device) does not fit 8-bit major and minor; the kernel will see \(stored)" + suffix))
    }
    return warnings
  }
}

/// What a build produced.
public struct BuildReport: Sendable {
  public var warnings: [BuildWarning] = []
  /// Directory entries, the root not included (`fsid.files` is this + 1).
  public var entries = 0
  public var regularFiles = 0
  public var directories = 0
  public var symlinks = 0
  /// Character and block devices, fifos, sockets.
  public var specialFiles = 0
  /// `fsid.blocks`: blocks of the files and symlinks whose data is stored (duplicates not counted).
  public var blocks = 0
  /// Files and symlinks that share an earlier entry's data.
  public var deduplicatedFiles = 0
  public var holeBlocks = 0
  /// Blocks stored verbatim (`-x`, XIP blocks and read-bug guard pages).
  public var uncompressedBlocks = 0
  /// Files with at least one block stored direct + uncompressed (XIP).
  public var xipFiles = 0
  /// Blocks stored direct + uncompressed.
  public var directBlocks = 0
  /// Blocks stored direct + compressed (in `-X` files, the first compressed block after an XIP block).
  public var directCompressedBlocks = 0
  /// Zero bytes the XIP layout spent on alignment: every gap in the data area right before a direct
  /// block (the XIP area's start, zeroed page tails between XIP files, 8-byte and 4-byte alignment).
  public var xipPaddingBytes = 0
  /// Image paths of the files whose last page the read-bug guard keeps non-direct.
  public var readBugGuardFiles: [String] = []
  /// Bytes of the image, pad included.
  public var imageSize = 0
  public var flags = SuperblockFlags()
  public var crc: UInt32 = 0

  public init() {}
}
