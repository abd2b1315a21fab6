/// Walks an image's directory tree: reads each directory's entries at most once, hands every entry to
/// the caller, and enters the directories the caller asks for, under the one ``WalkGuard``.
///
///     var walker = DirectoryWalker<[UInt8]>(view: image.view, order: .imageOrder)
///     let root = DirectoryWalker<[UInt8]>.Directory.root(image.superblock, superblockOffset: 0, context: [])
///     walker.walk(from: root) { _, _ in
///     } visit: { entry, parent, mayEnter in
///       mayEnter ? parent.context + [UInt8(ascii: "/")] + entry.name : nil    // enter every directory
///     } problem: { problem, directory in
///       print(problem, directory.entryOffset)                              // a loop, say: not entered
///     }
///
/// Nothing in the image is trusted: entries are read by ``DirectoryScanner`` inside their directory's
/// range, and a directory the guard refuses is reported as a ``WalkProblem`` and not read. The caller
/// decides what a problem means: the checker and the extractor report it and go on, the reader's walks
/// throw it (``CramfsImage/walk(_:)``). Iterative, so no depth of nesting can exhaust the stack.
///
/// `Context` is what the caller keeps with each directory it enters (its path, a descriptor, ...).
struct DirectoryWalker<Context> {
  /// A directory the walk enters (or refuses to).
  struct Directory {
    var inode: Inode
    /// Where its entry is (for the root, its inode inside the superblock).
    var entryOffset: Int
    /// Bytes of its path from the root, names as stored (`/a/b` is 4; the root's is 0).
    var pathLength: Int
    var context: Context

    /// The root directory of the image whose superblock is at `superblockOffset`.
    static func root(_ superblock: Superblock, superblockOffset: Int, context: Context) -> Directory {
      Directory(inode: superblock.root, entryOffset: superblockOffset + 64, pathLength: 0, context: context)
    }
  }

  let view: ByteView
  let order: WalkOrder
  private var guardRule: WalkGuard
  /// The context of each directory read, by the number the guard gave it (to name the first reader of
  /// shared entries).
  private var contexts: [Context] = []

  init(view: ByteView, order: WalkOrder) {
    self.view = view
    self.order = order
    guardRule = WalkGuard(imageSize: view.count)
  }

  /// Whether a directory has entries to read: the kernel gives one with offset or size 0 no size.
  static func hasEntries(_ inode: Inode) -> Bool { inode.offsetWords != 0 && inode.size != 0 }

  /// Walks the tree below `start` (its entries, not `start` itself).
  ///
  /// - Parameters:
  ///   - enter: called with each directory entered and its entries, before any of them is visited.
  ///   - visit: called with each entry, its directory, and whether the walk would enter it (a directory
  ///     whose path is short enough); returns the context to enter it with, or nil to pass it by.
  ///   - problem: called with each directory refused, and each directory whose last entry cannot be read
  ///     (after the entries before it).
  /// - Throws: only what the closures throw; the walk stops there.
  mutating func walk<Failure: Error>(
    from start: Directory,
    // No default for `enter`: Swift 6.3 crashes emitting the thunk for a defaulted closure with `Failure == Never`.
    enter: (_ directory: Directory, _ entries: [ScannedEntry]) throws(Failure) -> Void,
    visit: (_ entry: ScannedEntry, _ parent: Directory, _ mayEnter: Bool) throws(Failure) -> Context?,
    problem: (_ problem: WalkProblem<Context>, _ directory: Directory) throws(Failure) -> Void
  ) throws(Failure) {
    switch order {
    case .imageOrder: try walkInImageOrder(from: start, enter: enter, visit: visit, problem: problem)
    case .preOrder: try walkInPreOrder(from: start, enter: enter, visit: visit, problem: problem)
    }
  }

  private mutating func walkInImageOrder<Failure: Error>(
    from start: Directory,
    enter: (Directory, [ScannedEntry]) throws(Failure) -> Void,
    visit: (ScannedEntry, Directory, Bool) throws(Failure) -> Context?,
    problem: (WalkProblem<Context>, Directory) throws(Failure) -> Void
  ) throws(Failure) {
    var pending = [start]
    while let directory = pending.popLast() {
      guard let listing = try read(directory, enter: enter, problem: problem) else { continue }
      var entered: [Directory] = []
      for entry in listing.entries {
        if let child = try step(entry, in: directory, visit: visit, problem: problem) { entered.append(child) }
      }
      if let unreadable = listing.unreadable { try problem(.unreadableEntry(unreadable), directory) }
      // Reversed, so that the first is taken next.
      pending.append(contentsOf: entered.reversed())
    }
  }

  /// A directory being visited in pre-order, and where its visit stands.
  private struct Frame {
    var directory: Directory
    var entries: [ScannedEntry]
    var unreadable: UnreadableEntry?
    var next = 0
  }

  private mutating func walkInPreOrder<Failure: Error>(
    from start: Directory,
    enter: (Directory, [ScannedEntry]) throws(Failure) -> Void,
    visit: (ScannedEntry, Directory, Bool) throws(Failure) -> Context?,
    problem: (WalkProblem<Context>, Directory) throws(Failure) -> Void
  ) throws(Failure) {
    var frames: [Frame] = []
    if let listing = try read(start, enter: enter, problem: problem) {
      frames.append(Frame(directory: start, entries: listing.entries, unreadable: listing.unreadable))
    }
    while let top = frames.indices.last {
      guard frames[top].next < frames[top].entries.count else {
        let done = frames.removeLast()
        if let unreadable = done.unreadable { try problem(.unreadableEntry(unreadable), done.directory) }
        continue
      }
      let entry = frames[top].entries[frames[top].next]
      frames[top].next += 1
      guard let child = try step(entry, in: frames[top].directory, visit: visit, problem: problem),
        let listing = try read(child, enter: enter, problem: problem)
      else { continue }
      frames.append(Frame(directory: child, entries: listing.entries, unreadable: listing.unreadable))
    }
  }

  /// Visits one entry; returns the directory to enter, if the caller wants it and the path allows it.
  private func step<Failure: Error>(
    _ entry: ScannedEntry, in parent: Directory,
    visit: (ScannedEntry, Directory, Bool) throws(Failure) -> Context?,
    problem: (WalkProblem<Context>, Directory) throws(Failure) -> Void
  ) throws(Failure) -> Directory? {
    let isDirectory = entry.inode.fileType == .directory
    let pathLength = parent.pathLength + 1 + entry.name.count
    let mayEnter = isDirectory && WalkGuard.mayEnter(pathLength: pathLength)
    guard let context = try visit(entry, parent, mayEnter), isDirectory else { return nil }
    let child = Directory(inode: entry.inode, entryOffset: entry.offset, pathLength: pathLength, context: context)
    guard mayEnter else {
      try problem(.pathTooLong, child)
      return nil
    }
    return child
  }

  /// The entries of `directory` (and the entry that cannot be read, if any), or nil when it has none
  /// or the guard refuses them.
  private mutating func read<Failure: Error>(
    _ directory: Directory,
    enter: (Directory, [ScannedEntry]) throws(Failure) -> Void,
    problem: (WalkProblem<Context>, Directory) throws(Failure) -> Void
  ) throws(Failure) -> (entries: [ScannedEntry], unreadable: UnreadableEntry?)? {
    let inode = directory.inode
    let size = Int(inode.size)
    guard Self.hasEntries(inode) else {
      if size != 0 { try problem(.zeroOffset, directory) }
      return nil
    }
    let start = inode.byteOffset
    if let refusal = guardRule.admit(start: start, size: size) {
      switch refusal {
      case .alreadyWalked(let first): try problem(.alreadyWalked(first: contexts[first]), directory)
      case .outOfRange: try problem(.outOfRange, directory)
      case .overlap: try problem(.overlap, directory)
      }
      return nil
    }
    contexts.append(directory.context)
    let listing = DirectoryScanner.scan(view, start: start, size: size)
    try enter(directory, listing.entries)
    return listing
  }
}

/// The order in which a walk visits entries. Either way, a directory's entries are read when the walk
/// enters it, and a problem with a directory is reported at that point.
package enum WalkOrder: Sendable {
  /// Each entry, then (for a directory entered) everything below it, before its next sibling: the
  /// order of `find` and `fsck.cramfs -v`.
  case preOrder
  /// All entries of a directory, then the directories entered, first to last, each the same way: the
  /// order in which `mkfs.cramfs` writes the directory area.
  case imageOrder
}

/// Why a walk does not read (all of) a directory's entries.
enum WalkProblem<Context> {
  /// Its entries were read before, for the directory with context `first`: an ancestor (a loop), or
  /// another directory sharing them.
  case alreadyWalked(first: Context)
  /// Its entries lie (partly) outside the image.
  case outOfRange
  /// With its entries, those of all directories come to more bytes than the image holds: directories overlap.
  case overlap
  /// Its path is longer than ``WalkGuard/maxPathLength`` bytes: it is visited, not entered.
  case pathTooLong
  /// It has a size but no offset: the kernel shows it empty.
  case zeroOffset
  /// An entry runs past the end of the directory; the entries before it were visited.
  case unreadableEntry(UnreadableEntry)
}
