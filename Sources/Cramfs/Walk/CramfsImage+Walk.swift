extension CramfsImage {
  /// Every entry below the root, depth first (each directory's entries right after it), with its path
  /// (`/a/b`; invalid UTF-8 in names is repaired).
  ///
  ///     try image.walk { path, node in print(path, node.inode.size) }
  ///
  /// - Throws: `CramfsError/Code/corrupted` if a directory's entries are reached twice (a directory
  ///   loop), overlap other directories, or cannot be read, or a path grows past 16 KiB; what `visit`
  ///   throws. The walk stops at the first error.
  public func walk(_ visit: (_ path: String, _ node: Node) throws(CramfsError) -> Void) throws(CramfsError) {
    try walk(from: root, path: [], order: .preOrder) { (path, node) throws(CramfsError) in
      try visit("/" + String(decoding: path, as: UTF8.self), node)
      return true
    }
  }

  /// Visits every entry in the order the image stores them: the root first (with an empty path), then each
  /// directory's entries together, the directories taken depth first in name order (the order of the
  /// directory area itself). Paths are name bytes joined by `/`, without a leading `/` (names need not be
  /// UTF-8).
  ///
  /// - Throws: as ``walk(_:)``.
  public func walkInImageOrder(_ visit: (_ path: [UInt8], _ node: Node) throws(CramfsError) -> Void) throws(CramfsError) {
    try visit([], root)
    try walk(from: root, path: [], order: .imageOrder) { (path, node) throws(CramfsError) in
      try visit(path, node)
      return true
    }
  }

  /// Visits the entries below `directory` in `order`, entering each directory for which `visit` returns
  /// true, under the walk's one loop guard (``WalkGuard``).
  ///
  /// - Parameters:
  ///   - directory: where to start (its entries are visited, not itself).
  ///   - path: `directory`'s path: name bytes joined by `/`, without a leading `/` (empty for the root).
  ///   - visit: called with each entry and its path (`path` plus `/` and the names below it); returns
  ///     whether to enter it when it is a directory.
  /// - Throws: as ``walk(_:)``; a directory without entries (size or offset 0) is simply empty.
  package func walk(
    from directory: Node, path: [UInt8], order: WalkOrder,
    _ visit: (_ path: [UInt8], _ node: Node) throws(CramfsError) -> Bool
  ) throws(CramfsError) {
    var walker = DirectoryWalker<[UInt8]>(view: view, order: order)
    let start = DirectoryWalker<[UInt8]>.Directory(
      inode: directory.inode, entryOffset: directory.entryOffset, pathLength: path.isEmpty ? 0 : path.count + 1, context: path)
    try walker.walk(from: start) { (_, _) throws(CramfsError) in
    } visit: { (entry, parent, mayEnter) throws(CramfsError) -> [UInt8]? in
      // As `children(of:)` reads names (`DirectoryEntry`): an empty one is an error.
      guard !entry.name.isEmpty else {
        throw CramfsError(.corrupted, "directory entry has an empty name", offset: entry.offset)
      }
      let path = parent.context.isEmpty ? entry.name : parent.context + [UInt8(ascii: "/")] + entry.name
      let enter = try visit(path, entry.node)
      return enter ? path : nil
    } problem: { (problem, directory) throws(CramfsError) in
      if let error = walkError(problem, directory: directory) { throw error }
    }
  }

  /// The error a problem of the walk is to a reader (nil: no error, a directory with a size and no offset
  /// is empty to the kernel too).
  private func walkError(_ problem: WalkProblem<[UInt8]>, directory: DirectoryWalker<[UInt8]>.Directory) -> CramfsError? {
    let path = "/" + String(decoding: directory.context, as: UTF8.self)
    let start = directory.inode.byteOffset
    let size = Int(directory.inode.size)
    switch problem {
    case .zeroOffset:
      return nil
    case .alreadyWalked:
      return CramfsError(
        .corrupted, "directory loop: entries at 0x\(String(start, radix: 16)) are reached twice", offset: directory.entryOffset, path: path)
    case .outOfRange:
      return CramfsError(
        .outOfBounds,
        "a directory's entries of \(size) bytes at 0x\(String(start, radix: 16)) runs past the end of the image (0x\(String(view.count, radix: 16)) bytes)",
        offset: start, path: path)
    case .overlap:
      return CramfsError(
        .corrupted, "directory entries at 0x\(String(start, radix: 16)) overlap other directories (more entry bytes than the image holds)",
        offset: directory.entryOffset, path: path)
    case .pathTooLong:
      return CramfsError(
        .corrupted, "path is longer than \(WalkGuard.maxPathLength) bytes: directories nested too deep to walk",
        offset: directory.entryOffset, path: path)
    case .unreadableEntry(let entry):
      return CramfsError(.corrupted, entry.message, offset: entry.offset, path: path)
    }
  }
}

extension ScannedEntry {
  /// The entry as the reader's ``Node``.
  var node: Node { Node(entry: DirectoryEntry(entryOffset: offset, inode: inode, name: name)) }
}
