/// Builds a ``SourceTree`` from entries given by path in any order, as archives list them.
///
///     var assembler = TreeAssembler(options: options)
///     try assembler.add(InputEntry(path: Array("etc/passwd".utf8), type: .regular, ...))
///     let tree = assembler.finish()
///
/// Missing parent directories are implied (mode 0755, owner 0); when a path appears twice the later
/// entry wins, with a warning; children end up sorted by name bytes, entries in pre-order (the order of
/// ``SourceTree/scan(_:options:)``), so the same entries give the same image whatever their order.
public struct TreeAssembler {
  /// Linux's `PATH_MAX` (the terminating NUL included).
  public static let maxPathLength = 4096

  private let options: BuildOptions
  // Entries in arrival order (index 0 is the root), with each directory's children by name and whether the
  // input gave the entry (rather than implying it). Parallel arrays, not a node struct, so that `finish`
  // can reorder the entries in place: an archive of millions of entries is held once, not twice.
  private var entries: [SourceEntry]
  private var childrenByName: [[[UInt8]: Int32]]
  private var isExplicit: [Bool]
  /// Bytes of directory entries so far: checked as entries come, so an archive of millions of tiny
  /// entries stops when the image could no longer hold them, not when memory runs out.
  private var directoryBytes = 0
  private var warnings: [BuildWarning] = []

  /// An assembler holding only the root (an implied directory until the input gives one).
  public init(options: BuildOptions) {
    self.options = options
    entries = [Self.impliedDirectory(name: [], path: [UInt8(ascii: "/")])]
    childrenByName = [[:]]
    isExplicit = [false]
  }

  /// The image path of `path` split into components, without empty and `.` components.
  ///
  /// - Throws: `CramfsError/Code/invalidArgument` for a `..` component,
  ///   `CramfsError/Code/limitExceeded` for a component over 252 bytes.
  public static func components(of path: [UInt8]) throws(CramfsError) -> [[UInt8]] {
    // Linux's PATH_MAX: no program could open a longer path, and it keeps what each entry costs small
    // whatever an archive claims.
    guard path.count < maxPathLength else {
      throw CramfsError(
        .limitExceeded, "path is \(path.count) bytes; the limit is \(maxPathLength - 1)")
    }
    let display = String(decoding: path, as: UTF8.self)
    var result: [[UInt8]] = []
    for component in path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true) {
      if component.elementsEqual([UInt8(ascii: ".")]) { continue }
      if component.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) {
        throw CramfsError(.invalidArgument, "path has a '..' component", path: display)
      }
      try SourceTree.checkName(Array(component), path: display)
      result.append(Array(component))
    }
    return result
  }

  /// The entry a path names, if it is in the tree so far.
  public func lookup(_ path: [UInt8]) throws(CramfsError) -> SourceEntry? {
    var index = 0
    for component in try Self.components(of: path) {
      guard let child = childrenByName[index][component] else { return nil }
      index = Int(child)
    }
    return entries[index]
  }

  /// Adds `input`, or replaces the entry already at its path.
  ///
  /// Error messages do not name the entry (the caller knows how to show it); `CramfsError/path` does.
  ///
  /// - Throws: `CramfsError` naming the entry for a `..` component, a name over 252 bytes, a file of
  ///   16 MiB or more, a symlink target of a block or more, a non-directory used as a parent, and
  ///   (for the root) a type other than directory.
  public mutating func add(_ input: InputEntry) throws(CramfsError) {
    let display = input.displayPath
    let components = try Self.components(of: input.path)
    switch input.type {
    case .regular: try SourceTree.checkFileSize(input.size, path: display)
    case .symlink:
      try SourceTree.checkLinkTarget(
        length: input.linkTarget?.count ?? 0, blockSize: options.blockSize, path: display)
    default: break
    }
    var parent = 0
    var imagePath: [UInt8] = []
    for component in components.dropLast() {
      imagePath += [UInt8(ascii: "/")] + component
      if let child = childrenByName[parent][component].map(Int.init) {
        guard entries[child].type == .directory else {
          throw CramfsError(
            .wrongType,
            "\(String(decoding: imagePath, as: UTF8.self)) is a \(entries[child].type), not a directory",
            path: display)
        }
        parent = child
      } else {
        try countEntry(named: component, display: display)
        parent = append(Self.impliedDirectory(name: component, path: imagePath), explicit: false, under: parent)
      }
    }
    var entry = makeEntry(input, name: components.last ?? [])
    guard let name = components.last else {
      guard input.type == .directory else {
        throw CramfsError(
          .wrongType, "the root must be a directory, not a \(input.type)", path: display)
      }
      entry.pathBytes = [UInt8(ascii: "/")]
      replace(0, with: entry, display: display)
      addOwnerWarnings(entry)
      return
    }
    // The path is kept only while its warnings are made; the tree rebuilds it for later messages.
    entry.pathBytes = imagePath + [UInt8(ascii: "/")] + name
    if let existing = childrenByName[parent][name] {
      replace(Int(existing), with: entry, display: display)
    } else {
      try countEntry(named: name, display: display)
      append(entry, explicit: true, under: parent)
    }
    addOwnerWarnings(entry)
  }

  /// The tree: entries in pre-order, children sorted by name bytes. The assembler is left empty (its
  /// entries are moved, not copied).
  public mutating func finish() -> SourceTree {
    var entries = self.entries
    self.entries = []
    var childrenByName = self.childrenByName
    self.childrenByName = []
    isExplicit = []
    // The pre-order: depth first without recursion (an archive can nest paths arbitrarily deep); children
    // are pushed in reverse name order, so they come out in name order, each after its elder sibling's
    // subtree. The name maps are dropped as soon as they are read.
    let count = entries.count
    var order = [Int32]()  // order[new] = old
    order.reserveCapacity(count)
    var newIndex = [Int32](repeating: 0, count: count)
    var sortedChildren = [[Int32]](repeating: [], count: count)  // old indexes, by name
    var stack: [Int32] = [0]
    while let old = stack.popLast() {
      newIndex[Int(old)] = Int32(order.count)
      order.append(old)
      let byName = childrenByName[Int(old)]
      childrenByName[Int(old)] = [:]
      guard !byName.isEmpty else { continue }
      let children = byName.sorted { $0.key.precedesInByteOrder($1.key) }.map(\.value)
      stack.append(contentsOf: children.reversed())
      sortedChildren[Int(old)] = children
    }
    childrenByName = []
    for old in 0..<count where !sortedChildren[old].isEmpty {
      entries[old].children = sortedChildren[old].map { Int(newIndex[Int($0)]) }
      sortedChildren[old] = []
    }
    sortedChildren = []
    newIndex = []
    guard order.count == count else {
      // Entries under a directory that a later entry replaced are left out (rare: copy).
      return SourceTree(entries: order.map { entries[Int($0)] }, warnings: warnings)
    }
    // Reorder in place, one cycle of the permutation at a time; a placed entry's `order` becomes -1.
    for start in 0..<count where order[start] >= 0 {
      var position = start
      let first = entries[start]
      while true {
        let source = Int(order[position])
        order[position] = -1
        if source == start {
          entries[position] = first
          break
        }
        entries[position] = entries[source]
        position = source
      }
    }
    return SourceTree(entries: entries, warnings: warnings)
  }

  /// Adds `entry` as a child of `parent` and returns its index.
  @discardableResult
  private mutating func append(_ entry: SourceEntry, explicit: Bool, under parent: Int) -> Int {
    var entry = entry
    entry.pathBytes = []
    entries.append(entry)
    childrenByName.append([:])
    isExplicit.append(explicit)
    childrenByName[parent][entry.name] = Int32(entries.count - 1)
    return entries.count - 1
  }

  /// Adds a new entry's directory bytes (inode and padded name) to the total.
  ///
  /// - Throws: `CramfsError/Code/limitExceeded` once the entries could not start below 256 MiB.
  private mutating func countEntry(named name: [UInt8], display: String) throws(CramfsError) {
    directoryBytes += Inode.encodedSize + (name.count + 3) & ~3
    guard directoryBytes < Inode.offsetLimit else {
      throw CramfsError(
        .limitExceeded,
        "\(entries.count) entries fill the 256 MiB an image's directories can use", path: display)
    }
  }

  private mutating func replace(_ index: Int, with entry: SourceEntry, display: String) {
    let dropsChildren = entry.type != .directory && !childrenByName[index].isEmpty
    if isExplicit[index] || dropsChildren {
      let dropped = dropsChildren ? " (with the \(childrenByName[index].count) entries below it)" : ""
      warnings.append(
        BuildWarning(
          kind: .duplicatePath, path: display,
          message: "appears more than once in the input; the later entry wins\(dropped)"))
    }
    // The replaced entry's owner and device warnings go with it.
    warnings.removeAll {
      $0.path == entry.path && [.uidTruncated, .gidTruncated, .deviceTruncated].contains($0.kind)
    }
    var entry = entry
    entry.name = entries[index].name
    if index != 0 { entry.pathBytes = [] }
    entries[index] = entry
    isExplicit[index] = true
    // A directory keeps its children; anything else replaces the directory and what it held (they stay
    // in `entries`, unreachable, and `finish` leaves them out).
    if entry.type != .directory { childrenByName[index] = [:] }
  }

  private func makeEntry(_ input: InputEntry, name: [UInt8]) -> SourceEntry {
    let squash = options.squashOwners
    var entry = SourceEntry(
      name: name, pathBytes: input.path, type: input.type,
      mode: input.type.rawValue | (input.permissions & 0o7777), uid: squash ? 0 : input.uid,
      gid: squash ? 0 : input.gid, dataSize: 0, device: input.type.isDevice ? input.device : nil)
    switch input.type {
    case .regular:
      entry.dataSize = input.size
      entry.content = input.size > 0 ? input.content : nil
    case .symlink:
      entry.linkTarget = input.linkTarget ?? []
      entry.dataSize = input.linkTarget?.count ?? 0
    default: break
    }
    return entry
  }

  private mutating func addOwnerWarnings(_ entry: SourceEntry) {
    warnings += BuildWarning.truncations(of: entry)
  }

  private static func impliedDirectory(name: [UInt8], path: [UInt8]) -> SourceEntry {
    SourceEntry(
      name: name, pathBytes: path, type: .directory, mode: FileType.directory.rawValue | 0o755,
      uid: 0, gid: 0, dataSize: 0)
  }
}
