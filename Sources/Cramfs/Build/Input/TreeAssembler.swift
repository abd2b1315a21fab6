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
  private struct Node {
    var entry: SourceEntry
    var children: [[UInt8]: Int] = [:]
    /// Given by the input, not implied by a descendant.
    var isExplicit: Bool
  }

  /// Linux's `PATH_MAX` (the terminating NUL included).
  public static let maxPathLength = 4096

  private let options: BuildOptions
  private var nodes: [Node]
  /// Bytes of directory entries so far: checked as entries come, so an archive of millions of tiny
  /// entries stops when the image could no longer hold them, not when memory runs out.
  private var directoryBytes = 0
  private var warnings: [BuildWarning] = []

  /// An assembler holding only the root (an implied directory until the input gives one).
  public init(options: BuildOptions) {
    self.options = options
    nodes = [Node(entry: Self.impliedDirectory(name: [], path: [UInt8(ascii: "/")]), isExplicit: false)]
  }

  /// The image path of `path` split into components, without empty and `.` components.
  ///
  /// - Throws: ``CramfsError/Code/invalidArgument`` for a `..` component,
  ///   ``CramfsError/Code/limitExceeded`` for a component over 252 bytes.
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
      guard let child = nodes[index].children[component] else { return nil }
      index = child
    }
    return nodes[index].entry
  }

  /// Adds `input`, or replaces the entry already at its path.
  ///
  /// Error messages do not name the entry (the caller knows how to show it); ``CramfsError/path`` does.
  ///
  /// - Throws: ``CramfsError`` naming the entry for a `..` component, a name over 252 bytes, a file of
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
      if let child = nodes[parent].children[component] {
        guard nodes[child].entry.type == .directory else {
          throw CramfsError(
            .wrongType,
            "\(String(decoding: imagePath, as: UTF8.self)) is a \(nodes[child].entry.type), not a directory",
            path: display)
        }
        parent = child
      } else {
        try countEntry(named: component, display: display)
        nodes.append(Node(entry: Self.impliedDirectory(name: component, path: imagePath), isExplicit: false))
        nodes[parent].children[component] = nodes.count - 1
        parent = nodes.count - 1
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
    entry.pathBytes = imagePath + [UInt8(ascii: "/")] + name
    if let existing = nodes[parent].children[name] {
      replace(existing, with: entry, display: display)
    } else {
      try countEntry(named: name, display: display)
      nodes.append(Node(entry: entry, isExplicit: true))
      nodes[parent].children[name] = nodes.count - 1
    }
    addOwnerWarnings(entry)
  }

  /// The tree: entries in pre-order, children sorted by name bytes.
  public func finish() -> SourceTree {
    var entries: [SourceEntry] = []
    entries.reserveCapacity(nodes.count)
    // Depth first without recursion (an archive can nest paths arbitrarily deep): children are pushed in
    // reverse name order, so they are appended in name order, each after its elder sibling's subtree.
    var stack: [(node: Int, parent: Int)] = [(0, -1)]
    while let (node, parent) = stack.popLast() {
      if parent >= 0 { entries[parent].children.append(entries.count) }
      entries.append(nodes[node].entry)
      entries[entries.count - 1].children = []
      let position = entries.count - 1
      let names = nodes[node].children.keys.sorted { $0.lexicographicallyPrecedes($1) }
      for name in names.reversed() {
        if let child = nodes[node].children[name] { stack.append((child, position)) }
      }
    }
    return SourceTree(entries: entries, warnings: warnings)
  }

  /// Adds a new entry's directory bytes (inode and padded name) to the total.
  ///
  /// - Throws: ``CramfsError/Code/limitExceeded`` once the entries could not start below 256 MiB.
  private mutating func countEntry(named name: [UInt8], display: String) throws(CramfsError) {
    directoryBytes += Inode.encodedSize + (name.count + 3) & ~3
    guard directoryBytes < Inode.offsetLimit else {
      throw CramfsError(
        .limitExceeded,
        "\(nodes.count) entries fill the 256 MiB an image's directories can use", path: display)
    }
  }

  private mutating func replace(_ index: Int, with entry: SourceEntry, display: String) {
    let dropsChildren = entry.type != .directory && !nodes[index].children.isEmpty
    if nodes[index].isExplicit || dropsChildren {
      let dropped = dropsChildren ? " (with the \(nodes[index].children.count) entries below it)" : ""
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
    entry.name = nodes[index].entry.name
    nodes[index].entry = entry
    nodes[index].isExplicit = true
    // A directory keeps its children; anything else replaces the directory and what it held.
    if entry.type != .directory { nodes[index].children = [:] }
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
