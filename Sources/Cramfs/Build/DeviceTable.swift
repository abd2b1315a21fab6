#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import struct SystemPackage.FileDescriptor

/// A cramfs-tools device table (`mkcramfs -D`): device nodes, fifos, directories and owners the image
/// gets without anyone running `mknod` or `chown` as root (what Buildroot passes).
///
///     # name       type mode uid gid major minor start inc count
///     /dev         d    755  0   0   -     -     -     -   -
///     /dev/console c    600  0   0   5     1     -     -   -
///     /dev/tty     c    666  0   0   4     0     0     1   4
///     /etc/shadow  f    600  0   0   -     -     -     -   -
///
///     var options = BuildOptions()
///     options.deviceTable = try DeviceTable(contentsOf: "device_table.txt")
///
/// One entry a line, ten whitespace-separated columns; blank lines and lines starting with `#` are
/// ignored, and so is anything after the tenth column that starts with `#`. `name` is an absolute image
/// path. `type` is `f` (an existing regular file: only its mode and owner change), `d` (a directory,
/// made if missing), `c` / `b` (character / block device) or `p` (fifo). `mode` is octal permission bits
/// (at most `7777`; the type comes from `type`); the other columns are decimal. `-` stands for the
/// cramfs-tools default of its column: mode `755`, increment 1, everything else 0.
///
/// With `count > 0`, a `c` or `b` line makes `count` nodes: for `i` in `0..<count`, the name followed by
/// `start + i` in decimal, with minor `minor + i * inc` (`/dev/tty c 666 0 0 4 0 0 1 4` makes `tty0` …
/// `tty3`, minors 0 … 3). This is what cramfs-tools' sample table describes and what `mkfs.jffs2` and
/// `makedevs` do; cramfs-tools' own loop runs `i` from `start` to `count - 1`, so for `start > 0` it
/// makes `count - start` nodes (its sample `hda` line gives `hda1` … `hda14`, not `hda15`).
///
/// Parsing checks only the table itself; ``SourceTree/apply(_:)`` checks it against the tree.
public struct DeviceTable: Sendable, Hashable {
  /// What a line makes or changes.
  public enum Kind: UInt8, Sendable, Hashable, CaseIterable {
    /// `f`: an existing regular file.
    case file = 0x66
    /// `d`: a directory.
    case directory = 0x64
    /// `c`: a character device.
    case characterDevice = 0x63
    /// `b`: a block device.
    case blockDevice = 0x62
    /// `p`: a fifo.
    case fifo = 0x70

    /// The file type of the entries this kind makes.
    public var fileType: FileType {
      switch self {
      case .file: .regular
      case .directory: .directory
      case .characterDevice: .characterDevice
      case .blockDevice: .blockDevice
      case .fifo: .fifo
      }
    }
  }

  /// One parsed line, with defaults filled in for `-`.
  public struct Line: Sendable, Hashable {
    /// The 1-based line number in the table.
    public var number: Int
    /// The `name` column as written (absolute image path).
    public var name: [UInt8]
    /// `name` split into its components (empty for `/`).
    public var components: [[UInt8]]
    public var kind: Kind
    /// Permission bits, setuid, setgid and sticky included (at most `0o7777`).
    public var permissions: UInt16
    public var uid: UInt32
    public var gid: UInt32
    public var major: UInt32
    public var minor: UInt32
    /// First number appended to the name of a series.
    public var start: UInt32
    /// Minor number step of a series.
    public var increment: UInt32
    /// Nodes in the series; 0 makes the single entry `name`.
    public var count: UInt32
  }

  /// The largest `count` a line may have (more nodes than 8-bit minors can tell apart many times over).
  public static let maxCount: UInt32 = 65_536
  /// The largest table read from a file.
  public static let maxFileSize = 16 << 20

  /// The table's name in messages (usually its path).
  public var source: String
  /// The entries, in table order (the order they are applied in).
  public var lines: [Line]

  /// Parses table text.
  ///
  /// - Parameters:
  ///   - text: the table, one entry per line (`#` comments and blank lines skipped).
  ///   - source: the table's name in messages (`source:line: problem`).
  /// - Throws: `CramfsError/Code/invalidArgument` naming the source, the line number and the problem
  ///   (unknown type, bad number, too few or too many columns, a relative name).
  public init<C: Collection>(parsing text: C, source: String) throws(CramfsError)
  where C.Element == UInt8 {
    self.source = source
    lines = []
    var number = 0
    var lineStart = text.startIndex
    while lineStart < text.endIndex {
      number += 1
      let lineEnd = text[lineStart...].firstIndex(of: UInt8(ascii: "\n")) ?? text.endIndex
      let fields = Self.fields(text[lineStart..<lineEnd])
      if let first = fields.first, first.first != UInt8(ascii: "#") {
        lines.append(try Self.parseLine(fields, number: number, source: source))
      }
      lineStart = lineEnd < text.endIndex ? text.index(after: lineEnd) : lineEnd
    }
  }

  /// Reads and parses the table at `path`.
  ///
  /// - Throws: `CramfsError/Code/io` when the file cannot be read, and what ``init(parsing:source:)`` throws.
  public init(contentsOf path: String) throws(CramfsError) {
    let bytes = try Self.readFile(path)
    try self.init(parsing: bytes, source: path)
  }

  /// The whitespace-separated fields of a line.
  private static func fields<S: Collection>(_ line: S) -> [[UInt8]] where S.Element == UInt8 {
    var fields: [[UInt8]] = []
    var current: [UInt8] = []
    for byte in line {
      // space, \t, \n, \v, \f, \r: C `isspace` in the C locale.
      if byte == 0x20 || (0x09...0x0D).contains(byte) {
        if !current.isEmpty {
          fields.append(current)
          current = []
        }
      } else {
        current.append(byte)
      }
    }
    if !current.isEmpty { fields.append(current) }
    return fields
  }

  private static let columnNames = [
    "name", "type", "mode", "uid", "gid", "major", "minor", "start", "inc", "count",
  ]

  private static func parseLine(_ fields: [[UInt8]], number: Int, source: String)
    throws(CramfsError) -> Line
  {
    func fail(_ problem: String) -> CramfsError {
      CramfsError(.invalidArgument, "\(source):\(number): \(problem)")
    }
    guard fields.count >= 10 else {
      throw fail(
        "\(fields.count) columns; a device table line has 10: "
          + columnNames.joined(separator: " "))
    }
    if fields.count > 10, fields[10].first != UInt8(ascii: "#") {
      throw fail(
        "\(fields.count) columns; a device table line has 10 (a comment after them starts with #)")
    }
    let name = fields[0]
    let nameText = String(decoding: name, as: UTF8.self)
    guard name.first == UInt8(ascii: "/") else {
      throw fail("name '\(nameText)' is not an absolute path (start it with /)")
    }
    let components = name.split(separator: UInt8(ascii: "/")).map { Array($0) }
    for component in components
    where component == [UInt8(ascii: ".")] || component == [UInt8(ascii: "."), UInt8(ascii: ".")]
    {
      throw fail("name '\(nameText)' has a '.' or '..' component")
    }
    for component in components where component.count > Inode.maxNameLength {
      throw fail(
        "name '\(nameText)' has a component of \(component.count) bytes; the limit is \(Inode.maxNameLength)"
      )
    }
    let typeText = String(decoding: fields[1], as: UTF8.self)
    guard fields[1].count == 1, let kind = Kind(rawValue: fields[1][0]) else {
      throw fail("unknown type '\(typeText)' (use f, d, c, b or p)")
    }
    func numeric(_ column: Int, radix: UInt32, default value: UInt32) throws(CramfsError) -> UInt32 {
      let field = fields[column]
      if field == [UInt8(ascii: "-")] { return value }
      var result: UInt64 = 0
      for byte in field {
        let digit = UInt64(byte) &- 0x30
        guard digit < UInt64(radix) else {
          throw fail(
            "\(columnNames[column]) '\(String(decoding: field, as: UTF8.self))' is not "
              + (radix == 8 ? "an octal number" : "a decimal number") + " or -")
        }
        result = result * UInt64(radix) + digit
        guard result <= UInt64(UInt32.max) else {
          throw fail(
            "\(columnNames[column]) '\(String(decoding: field, as: UTF8.self))' is too large")
        }
      }
      return UInt32(result)
    }
    let mode = try numeric(2, radix: 8, default: 0o755)
    guard mode <= 0o7777 else {
      throw fail(
        "mode \(String(mode, radix: 8)) has bits beyond 7777 (give permission bits only; the type comes from the type column)"
      )
    }
    let line = Line(
      number: number, name: name, components: components, kind: kind,
      permissions: UInt16(mode),
      uid: try numeric(3, radix: 10, default: 0), gid: try numeric(4, radix: 10, default: 0),
      major: try numeric(5, radix: 10, default: 0), minor: try numeric(6, radix: 10, default: 0),
      start: try numeric(7, radix: 10, default: 0), increment: try numeric(8, radix: 10, default: 1),
      count: try numeric(9, radix: 10, default: 0))
    if components.isEmpty && kind != .directory {
      throw fail("/ is the root directory; only a d line can name it")
    }
    if line.count > 0 {
      guard kind == .characterDevice || kind == .blockDevice else {
        throw fail("count applies only to c and b lines (give - or 0)")
      }
      guard line.count <= maxCount else {
        throw fail("count \(line.count) is too large; the limit is \(maxCount)")
      }
      let lastIndex = UInt64(line.count - 1)
      guard UInt64(line.start) + lastIndex <= UInt64(UInt32.max),
        UInt64(line.minor) + lastIndex * UInt64(line.increment) <= UInt64(UInt32.max)
      else {
        throw fail("the series' last name number or minor does not fit 32 bits")
      }
    }
    return line
  }

  private static func readFile(_ path: String) throws(CramfsError) -> [UInt8] {
    let fd = try FileDescriptor.open(path: path, .readOnly, options: .closeOnExec, orThrow: "cannot open device table \(path)")
    defer { try? fd.close() }
    let bytes: [UInt8]?
    do {
      bytes = try fd.readToEnd(limit: maxFileSize)
    } catch {
      throw SystemCall.error("cannot read device table \(path)", errno: error.rawValue, path: path)
    }
    guard let bytes else {
      throw CramfsError(.limitExceeded, "device table \(path) is over \(maxFileSize >> 20) MiB", path: path)
    }
    return bytes
  }
}

extension DeviceTable.Line {
  /// The entries this line stands for: its name, or for a series each numbered name with its minor.
  public var expanded: [(components: [[UInt8]], minor: UInt32)] {
    guard count > 0, let last = components.last else { return [(components, minor)] }
    var result: [(components: [[UInt8]], minor: UInt32)] = []
    result.reserveCapacity(Int(count))
    for i in 0..<count {
      var numbered = components
      numbered[numbered.count - 1] = last + Array(String(start + i).utf8)
      result.append((numbered, minor + i * increment))
    }
    return result
  }
}
