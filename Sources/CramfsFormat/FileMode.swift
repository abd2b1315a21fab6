/// The type bits of a POSIX mode (`S_IFMT`), as cramfs stores them.
public enum FileType: UInt16, Sendable, Hashable, CaseIterable, CustomStringConvertible {
  case fifo = 0o010000
  case characterDevice = 0o020000
  case directory = 0o040000
  case blockDevice = 0o060000
  case regular = 0o100000
  case symlink = 0o120000
  case socket = 0o140000

  /// The mask of the type bits (`S_IFMT`).
  public static let mask: UInt16 = 0o170000

  /// The type encoded in `mode`, or nil for a value no POSIX system uses.
  public init?(mode: UInt16) { self.init(rawValue: mode & Self.mask) }

  /// Whether entries of this type carry data (block pointers or directory entries) in the image.
  public var hasData: Bool { self == .regular || self == .symlink || self == .directory }

  /// Whether `size` holds a device number.
  public var isDevice: Bool { self == .characterDevice || self == .blockDevice }

  /// The character `ls -l` shows for this type.
  public var lsCharacter: Character {
    switch self {
    case .fifo: "p"
    case .characterDevice: "c"
    case .directory: "d"
    case .blockDevice: "b"
    case .regular: "-"
    case .symlink: "l"
    case .socket: "s"
    }
  }

  public var description: String {
    switch self {
    case .fifo: "fifo"
    case .characterDevice: "character device"
    case .directory: "directory"
    case .blockDevice: "block device"
    case .regular: "regular file"
    case .symlink: "symlink"
    case .socket: "socket"
    }
  }
}

/// A device number as cramfs stores it in an inode's 24-bit `size`: 8-bit major, 8-bit minor.
public struct DeviceNumber: Hashable, Sendable, CustomStringConvertible {
  public var major: UInt32
  public var minor: UInt32

  public init(major: UInt32, minor: UInt32) {
    self.major = major
    self.minor = minor
  }

  /// Decodes the way the kernel does (`old_decode_dev`): `major = (size >> 8) & 0xff`, `minor = size & 0xff`.
  public init(inodeSize size: UInt32) {
    major = (size >> 8) & 0xFF
    minor = size & 0xFF
  }

  /// Decodes a Linux (glibc) `dev_t`: `gnu_dev_major` and `gnu_dev_minor`.
  public init(linuxDev dev: UInt64) {
    major = UInt32(truncatingIfNeeded: ((dev >> 8) & 0xFFF) | ((dev >> 32) & ~0xFFF))
    minor = UInt32(truncatingIfNeeded: (dev & 0xFF) | ((dev >> 12) & ~0xFF))
  }

  /// Decodes a 24-bit `size` field as builders write it (``inodeSize``): the inverse of that encoding,
  /// 12-bit major and 12-bit minor, so that writing the result again stores the same 24 bits. The kernel
  /// reads only 8:8 (``init(inodeSize:)``).
  public init(storedSize size: UInt32) {
    major = (size >> 8) & 0xFFF
    minor = (size & 0xFF) | ((size >> 20) & 0xF) << 8
  }

  /// The Linux (glibc) `dev_t`: `makedev(major, minor)`.
  public var linuxDev: UInt64 {
    let major = UInt64(major)
    let minor = UInt64(minor)
    return ((major & 0xFFF) << 8) | (minor & 0xFF) | ((minor & ~0xFF) << 12) | ((major & ~0xFFF) << 32)
  }

  /// Whether both numbers fit the 8:8 encoding.
  public var fitsInode: Bool { major <= 0xFF && minor <= 0xFF }

  /// The 24-bit `size` field a builder writes. Numbers that do not fit are truncated the way
  /// Linux's `st_rdev` encoding truncates them into 24 bits (as `mkfs.cramfs` does).
  public var inodeSize: UInt32 { UInt32(truncatingIfNeeded: linuxDev) & Inode.maxSize }

  public var description: String { "\(major), \(minor)" }
}

/// Formats permission bits (with setuid, setgid, sticky) the way `ls -l` does: `rwxr-xr-x`.
public func permissionString(_ mode: UInt16) -> String {
  func triad(_ bits: UInt16, special: Bool, specialChar: Character) -> String {
    let r: Character = bits & 4 != 0 ? "r" : "-"
    let w: Character = bits & 2 != 0 ? "w" : "-"
    let x: Character
    if special { x = bits & 1 != 0 ? specialChar : Character(specialChar.uppercased()) }
    else { x = bits & 1 != 0 ? "x" : "-" }
    return String([r, w, x])
  }
  return triad((mode >> 6) & 7, special: mode & 0o4000 != 0, specialChar: "s")
    + triad((mode >> 3) & 7, special: mode & 0o2000 != 0, specialChar: "s")
    + triad(mode & 7, special: mode & 0o1000 != 0, specialChar: "t")
}
