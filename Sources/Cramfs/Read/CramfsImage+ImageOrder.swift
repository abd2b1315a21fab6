extension CramfsImage {
  /// Visits every entry in the order the image stores them: the root first (with an empty path), then each
  /// directory's entries together, the directories taken depth first in name order (the order of the
  /// directory area itself). Paths are name bytes joined by `/`, without a leading `/` (names need not be
  /// UTF-8). Iterative, and each directory's entries are read once, so a directory loop in a corrupt image
  /// ends with `CramfsError/Code/corrupted` instead of running forever.
  public func walkInImageOrder(_ visit: (_ path: [UInt8], _ node: Node) throws(CramfsError) -> Void) throws(CramfsError) {
    try visit([], root)
    var pending: [(Node, [UInt8])] = [(root, [])]
    var seen: Set<Int> = []
    while let (directory, directoryPath) = pending.popLast() {
      if directory.inode.size != 0, !seen.insert(directory.inode.byteOffset).inserted {
        throw CramfsError(
          .corrupted, "\(String(decoding: directoryPath, as: UTF8.self)): directory loop", offset: directory.entryOffset)
      }
      var subdirectories: [(Node, [UInt8])] = []
      for child in try children(of: directory) {
        let path = directoryPath.isEmpty ? child.name : directoryPath + [UInt8(ascii: "/")] + child.name
        try visit(path, child)
        if child.type == .directory { subdirectories.append((child, path)) }
      }
      // Reversed, so that the first subdirectory is taken next.
      pending.append(contentsOf: subdirectories.reversed())
    }
  }
}
