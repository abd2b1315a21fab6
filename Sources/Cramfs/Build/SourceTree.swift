#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// One entry of the tree to put in an image, as the image will store it.
public struct SourceEntry: Sendable {
  /// The name in the image (empty for the root).
  public var name: [UInt8]
  /// Where the entry comes from, as raw bytes (names need not be UTF-8), for messages: the host path of
  /// an entry scanned from a directory. Entries from an archive or an image leave it empty (millions of
  /// entries need not carry their paths): ``SourceTree/path(of:parents:)`` rebuilds it.
  public var pathBytes: [UInt8]
  public var type: FileType
  /// Type and permission bits as stored (16 bits).
  public var mode: UInt16
  /// Owner on the host; the image keeps the low 16 bits.
  public var uid: UInt32
  /// Group on the host; the image keeps the low 8 bits.
  public var gid: UInt32
  /// Bytes of data: file length or symlink target length; 0 for other types.
  public var dataSize: Int
  /// Device number for character and block devices.
  public var device: DeviceNumber?
  /// The symlink target.
  public var linkTarget: [UInt8]?
  /// Indexes of the children in ``SourceTree/entries``, sorted by name bytes (`strcmp` order).
  public var children: [Int] = []
  /// A regular file's bytes (`dataSize` of them); nil for other types.
  public var content: (any EntryContent)? = nil

  /// The host path for messages (invalid UTF-8 repaired).
  public var path: String { String(decoding: pathBytes, as: UTF8.self) }
  public var storedUID: UInt16 { UInt16(truncatingIfNeeded: uid) }
  public var storedGID: UInt8 { UInt8(truncatingIfNeeded: gid) }
}

/// The tree to put in an image: read from a host directory with `lstat` (``scan(_:options:)``) or from
/// another ``ImageInput``, and checked against the format's limits.
///
/// Entries are stored in pre-order depth-first order with each directory's children sorted by name bytes.
/// That one order is the order `mkfs.cramfs` uses for directory blocks, file data and deduplication.
public struct SourceTree: Sendable {
  /// All entries; index 0 is the root.
  public var entries: [SourceEntry]
  public var warnings: [BuildWarning]

  /// Reads the tree at `directory` (following a symlink for the root itself, as `mkfs.cramfs` does).
  ///
  /// - Throws: `CramfsError/Code/limitExceeded` for what the format cannot hold (a name over 252 bytes,
  ///   a file over 16 MiB − 1, a symlink target of a block or more), `CramfsError/Code/io` for
  ///   what cannot be read; both name the path.
  public static func scan(_ directory: String, options: BuildOptions) throws(CramfsError)
    -> SourceTree
  {
    var scanner = Scanner(options: options)
    try scanner.scanRoot(Array(directory.utf8))
    return SourceTree(entries: scanner.entries, warnings: scanner.warnings)
  }

  /// Checks a symlink target against the kernel's limit: it reads a link through one page and cuts it
  /// to a page minus one byte (`nd_terminate_link(..., PAGE_SIZE - 1)`), so a target of a whole block
  /// would lose its last byte.
  static func checkLinkTarget(length: Int, blockSize: Int, path: String) throws(CramfsError) {
    let limit = Inode.maxSymlinkTargetLength(pageSize: blockSize)
    guard length <= limit else {
      throw CramfsError(
        .limitExceeded, "symlink target is \(length) bytes; the kernel keeps at most \(limit) (a block minus one)",
        path: path)
    }
  }

  static func checkName(_ name: [UInt8], path: String) throws(CramfsError) {
    guard name.count <= Inode.maxNameLength else {
      throw CramfsError(
        .limitExceeded, "name is \(name.count) bytes; the limit is \(Inode.maxNameLength)",
        path: path)
    }
  }

  static func checkFileSize(_ size: Int, path: String) throws(CramfsError) {
    guard size <= Int(Inode.maxSize) else {
      throw CramfsError(
        .limitExceeded, "file is \(size) bytes; the limit is \(Inode.maxSize) (16 MiB - 1)",
        path: path)
    }
  }
}

/// Calls `body` with `bytes` as a NUL-terminated C string.
func withCString<T>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) -> T) -> T {
  var terminated = bytes
  terminated.append(0)
  return terminated.withUnsafeBufferPointer { buffer in
    buffer.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) }
  }
}

private struct Scanner {
  let options: BuildOptions
  var entries: [SourceEntry] = []
  var warnings: [BuildWarning] = []

  init(options: BuildOptions) { self.options = options }

  mutating func scanRoot(_ path: [UInt8]) throws(CramfsError) {
    var info = stat()
    let pathText = String(decoding: path, as: UTF8.self)
    guard withCString(path, { stat($0, &info) }) == 0 else {
      throw SystemCall.error("cannot stat \(pathText)", path: pathText)
    }
    guard info.st_mode & S_IFMT == S_IFDIR else {
      throw CramfsError(.invalidArgument, "\(pathText) is not a directory", path: pathText)
    }
    let root = makeEntry(name: [], path: path, info: info, type: .directory)
    warnings += BuildWarning.truncations(of: root)
    entries.append(root)
    try scanDirectory(index: 0)
  }

  /// Appends the children of `entries[index]` (and their subtrees, depth first).
  mutating func scanDirectory(index: Int) throws(CramfsError) {
    let directoryPath = entries[index].pathBytes
    let names = try readNames(directoryPath)
    var children: [Int] = []
    children.reserveCapacity(names.count)
    for name in names {
      var path = directoryPath
      if path.last != UInt8(ascii: "/") { path.append(UInt8(ascii: "/")) }
      path.append(contentsOf: name)
      let pathText = String(decoding: path, as: UTF8.self)
      try SourceTree.checkName(name, path: pathText)
      var info = stat()
      guard withCString(path, { lstat($0, &info) }) == 0 else {
        throw SystemCall.error("cannot stat \(pathText)", path: pathText)
      }
      guard let type = FileType(mode: UInt16(truncatingIfNeeded: info.st_mode)) else {
        throw CramfsError(
          .io, "\(pathText) has an unknown file type (mode 0o\(String(info.st_mode, radix: 8)))",
          path: pathText)
      }
      var entry = makeEntry(name: name, path: path, info: info, type: type)
      switch type {
      case .regular:
        try SourceTree.checkFileSize(Int(info.st_size), path: pathText)
        entry.dataSize = Int(info.st_size)
        entry.content = HostFileContent(pathBytes: path, size: entry.dataSize)
      case .symlink:
        try SourceTree.checkLinkTarget(
          length: Int(info.st_size), blockSize: options.blockSize, path: pathText)
        let target = try readLink(path, expected: Int(info.st_size), pathText: pathText)
        entry.linkTarget = target
        entry.dataSize = target.count
      case .characterDevice, .blockDevice:
        entry.device = DeviceNumber(linuxDev: UInt64(info.st_rdev))
      case .directory, .fifo, .socket:
        break
      }
      warnings += BuildWarning.truncations(of: entry)
      entries.append(entry)
      options.progress?.addEntries()
      children.append(entries.count - 1)
      if type == .directory { try scanDirectory(index: entries.count - 1) }
    }
    entries[index].children = children
  }

  mutating func makeEntry(name: [UInt8], path: [UInt8], info: stat, type: FileType) -> SourceEntry {
    var uid = UInt32(info.st_uid)
    var gid = UInt32(info.st_gid)
    if options.squashOwners {
      uid = 0
      gid = 0
    }
    return SourceEntry(
      name: name, pathBytes: path, type: type, mode: UInt16(truncatingIfNeeded: info.st_mode),
      uid: uid, gid: gid,
      dataSize: 0)
  }

  /// The names in a directory, without `.` and `..`, sorted by bytes (C `strcmp`).
  func readNames(_ path: [UInt8]) throws(CramfsError) -> [[UInt8]] {
    let pathText = String(decoding: path, as: UTF8.self)
    guard let handle = withCString(path, { opendir($0) }) else {
      throw SystemCall.error("cannot read directory \(pathText)", path: pathText)
    }
    defer { closedir(handle) }
    var names: [[UInt8]] = []
    while true {
      errno = 0
      guard let entry = readdir(handle) else {
        if errno != 0 {
          throw SystemCall.error("cannot read directory \(pathText)", path: pathText)
        }
        break
      }
      let name = withUnsafeBytes(of: &entry.pointee.d_name) { raw -> [UInt8] in
        let length = strnlen(raw.baseAddress!.assumingMemoryBound(to: CChar.self), raw.count)
        return Array(raw.prefix(length))
      }
      if name == [UInt8(ascii: ".")] || name == [UInt8(ascii: "."), UInt8(ascii: ".")] { continue }
      names.append(name)
    }
    // Array comparison of UInt8 is unsigned byte order, which is `strcmp` order for names without NUL.
    names.sort { $0.precedesInByteOrder($1) }
    return names
  }

  func readLink(_ path: [UInt8], expected: Int, pathText: String) throws(CramfsError) -> [UInt8] {
    var buffer = [UInt8](repeating: 0, count: expected + 1)
    let count = withCString(path) { cPath in
      buffer.withUnsafeMutableBufferPointer { out in
        out.withMemoryRebound(to: CChar.self) { readlink(cPath, $0.baseAddress!, $0.count) }
      }
    }
    guard count >= 0 else {
      throw SystemCall.error("cannot read symlink \(pathText)", path: pathText)
    }
    guard count == expected else {
      throw CramfsError(.io, "symlink \(pathText) changed while it was read", path: pathText)
    }
    return Array(buffer.prefix(count))
  }
}

extension SourceTree {
  /// For each entry, the index of the directory that holds it (the root's is 0).
  public func parentIndexes() -> [Int32] {
    var parents = [Int32](repeating: 0, count: entries.count)
    for (index, entry) in entries.enumerated() {
      for child in entry.children { parents[child] = Int32(index) }
    }
    return parents
  }

  /// Entry `index`'s path for messages, as raw bytes: its ``SourceEntry/pathBytes`` when it has them (the
  /// host path), or else its image path rebuilt from the tree. Pass `parents` (``parentIndexes()``) when
  /// asking for many paths.
  public func pathBytes(of index: Int, parents: [Int32]? = nil) -> [UInt8] {
    guard entries[index].pathBytes.isEmpty else { return entries[index].pathBytes }
    let parents = parents ?? parentIndexes()
    var components: [[UInt8]] = []
    var current = index
    // Bounded by the entry count, so a tree built with a cycle by hand cannot loop forever.
    while current != 0, components.count < entries.count {
      components.append(entries[current].name)
      current = Int(parents[current])
    }
    guard !components.isEmpty else { return [UInt8(ascii: "/")] }
    var path: [UInt8] = []
    for component in components.reversed() {
      path.append(UInt8(ascii: "/"))
      path.append(contentsOf: component)
    }
    return path
  }

  /// ``pathBytes(of:parents:)`` as text (invalid UTF-8 repaired).
  public func path(of index: Int, parents: [Int32]? = nil) -> String {
    String(decoding: pathBytes(of: index, parents: parents), as: UTF8.self)
  }

  /// Gives every entry the uid and/or gid (when not nil), dropping the truncation warnings they replace.
  mutating func forceOwners(uid: UInt32?, gid: UInt32?) {
    if let uid {
      for index in entries.indices { entries[index].uid = uid }
      warnings.removeAll { $0.kind == .uidTruncated }
    }
    if let gid {
      for index in entries.indices { entries[index].gid = gid }
      warnings.removeAll { $0.kind == .gidTruncated }
    }
  }
}
