extension SourceTree {
  /// Applies a device table to the scanned tree, in memory (nothing on the host changes).
  ///
  ///     var tree = try SourceTree.scan("rootfs", options: options)
  ///     try tree.apply(try DeviceTable(contentsOf: "device_table.txt"))
  ///
  /// Lines apply in table order, so a `d` line can make the parent of later lines. For each entry a line
  /// names:
  /// - Its parent directories must exist, in the scanned tree or made by an earlier `d` line (as in
  ///   cramfs-tools, which stops with "could not find parent"); they are not made implicitly.
  /// - An existing entry of the line's type gets the line's mode and owner, and a device the line's device
  ///   number (cramfs-tools keeps a device's old number; the table is the more likely intent). `d /` changes
  ///   the root.
  /// - An existing entry of another type is an error: cramfs-tools would add a second entry of the same
  ///   name, which the kernel's sorted lookup cannot tell apart.
  /// - A missing entry is made (`d`, `c`, `b`, `p`) or is an error (`f`).
  ///
  /// Owners are stored as given, even with ``BuildOptions/squashOwners`` (cramfs-tools turns squashing off
  /// for the table). uid, gid and device numbers that do not fit the format add the same warnings as for
  /// host entries. New entries go where the scan would have put them (children sorted by bytes, entries in
  /// pre-order), so the image is the one built from a tree holding those entries for real.
  ///
  /// - Throws: `CramfsError` whose message starts with `table:line:`: `CramfsError/Code/notFound` for
  ///   a missing parent or `f` file, `CramfsError/Code/wrongType` for a type clash or a parent that is
  ///   not a directory, `CramfsError/Code/limitExceeded` for a series name over 252 bytes. The tree is
  ///   unchanged on error.
  public mutating func apply(_ table: DeviceTable) throws(CramfsError) {
    var copy = self
    var added = false
    var tableWarnings = TableWarnings()
    for line in table.lines {
      for (components, minor) in line.expanded {
        added =
          try copy.applyEntry(
            line, components: components, minor: minor, source: table.source, tableWarnings: &tableWarnings)
          || added
      }
    }
    // One pass over the scan's warnings, however many entries the table changed.
    copy.warnings.removeAll { $0.kind.isTruncation && tableWarnings.changedPaths.contains($0.path) }
    copy.warnings += tableWarnings.slots.joined()
    if added { copy.reorder() }
    self = copy
  }

  /// Applies one entry of a line; returns whether an entry was added.
  private mutating func applyEntry(
    _ line: DeviceTable.Line, components: [[UInt8]], minor: UInt32, source: String,
    tableWarnings: inout TableWarnings
  ) throws(CramfsError) -> Bool {
    // Text for errors and warnings only, made when one is given.
    var imagePath: String { "/" + components.map { String(decoding: $0, as: UTF8.self) }.joined(separator: "/") }
    var location: String { "\(source):\(line.number)" }
    let type = line.kind.fileType
    var parent = 0
    var index: Int? = 0
    for (depth, component) in components.enumerated() {
      guard let current = index else {
        let missing =
          "/" + components[..<depth].map { String(decoding: $0, as: UTF8.self) }.joined(
            separator: "/")
        throw CramfsError(
          .notFound,
          "\(location): parent directory \(missing) of \(imagePath) does not exist (add a d line for it before this one)"
        )
      }
      guard entries[current].type == .directory else {
        let what = entries[current].type.description
        throw CramfsError(
          .wrongType,
          "\(location): \(prefixPath(components, depth)) is a \(what), not a directory, so it cannot hold \(imagePath)",
          path: path(of: current))
      }
      parent = current
      index = child(named: component, of: current)
    }
    let device =
      type.isDevice ? DeviceNumber(major: line.major, minor: minor) : nil
    let mode = type.rawValue | line.permissions
    if let existing = index {
      guard entries[existing].type == type else {
        throw CramfsError(
          .wrongType,
          "\(location): \(imagePath) is a \(entries[existing].type) in the tree; the table makes it a \(type)",
          path: path(of: existing))
      }
      // The table's owner and device replace the scanned ones, and so do their truncation warnings (only
      // an entry that truncates has any).
      if BuildWarning.truncates(entries[existing]) { tableWarnings.changedPaths.insert(path(of: existing)) }
      entries[existing].mode = mode
      entries[existing].uid = line.uid
      entries[existing].gid = line.gid
      if type.isDevice { entries[existing].device = device }
      tableWarnings.set(truncationWarnings(of: existing, location: location), for: existing)
      return false
    }
    guard line.kind != .file else {
      throw CramfsError(
        .notFound,
        "\(location): \(imagePath) does not exist; f lines only change files that are in the tree")
    }
    let name = components[components.count - 1]
    var hostPath = pathBytes(of: parent)
    if hostPath.last != UInt8(ascii: "/") { hostPath.append(UInt8(ascii: "/")) }
    hostPath.append(contentsOf: name)
    guard name.count <= Inode.maxNameLength else {
      throw CramfsError(
        .limitExceeded,
        "\(location): \(imagePath): name is \(name.count) bytes; the limit is \(Inode.maxNameLength)")
    }
    entries.append(
      SourceEntry(
        name: name, pathBytes: hostPath, type: type, mode: mode, uid: line.uid, gid: line.gid,
        dataSize: 0, device: device))
    let new = entries.count - 1
    let position = entries[parent].children.partitioningIndex {
      !entries[$0].name.precedesInByteOrder(name)
    }
    entries[parent].children.insert(new, at: position)
    tableWarnings.set(truncationWarnings(of: new, location: location), for: new)
    return true
  }

  private func prefixPath(_ components: [[UInt8]], _ count: Int) -> String {
    "/" + components[..<count].map { String(decoding: $0, as: UTF8.self) }.joined(separator: "/")
  }

  /// The index of the child of `directory` named `name` (children are sorted by bytes).
  private func child(named name: [UInt8], of directory: Int) -> Int? {
    let children = entries[directory].children
    let position = children.partitioningIndex { !entries[$0].name.precedesInByteOrder(name) }
    guard position < children.count, entries[children[position]].name == name else { return nil }
    return children[position]
  }

  /// The owner and device warnings the scan gives for host entries, naming the table line.
  private func truncationWarnings(of index: Int, location: String) -> [BuildWarning] {
    guard BuildWarning.truncates(entries[index]) else { return [] }
    return BuildWarning.truncations(of: entries[index], path: path(of: index), location: location)
  }

  /// Puts the entries back in pre-order (added entries were appended), renumbering children.
  private mutating func reorder() {
    var order: [Int] = []
    order.reserveCapacity(entries.count)
    var stack = [0]
    while let index = stack.popLast() {
      order.append(index)
      stack.append(contentsOf: entries[index].children.reversed())
    }
    var newIndex = [Int](repeating: 0, count: entries.count)
    for (position, old) in order.enumerated() { newIndex[old] = position }
    entries = order.map { old in
      var entry = entries[old]
      entry.children = entry.children.map { newIndex[$0] }
      return entry
    }
  }
}

extension Array {
  /// The first index whose element satisfies `belongsInSecondPartition`, for an array partitioned by it.
  fileprivate func partitioningIndex(where belongsInSecondPartition: (Element) -> Bool) -> Int {
    var low = 0
    var high = count
    while low < high {
      let middle = low + (high - low) / 2
      if belongsInSecondPartition(self[middle]) {
        high = middle
      } else {
        low = middle + 1
      }
    }
    return low
  }
}

/// The truncation warnings a device table gives: a later line for the same entry replaces the earlier
/// line's, and the scan's warnings for an entry the table changes are dropped. Kept apart from the tree's
/// warnings so that a long series over existing entries costs one pass, not one per entry.
private struct TableWarnings {
  /// Each entry's warnings, in the order of the lines that last set them (a replaced slot is emptied).
  private(set) var slots: [[BuildWarning]] = []
  private var slotOfEntry: [Int: Int] = [:]
  /// Paths whose truncation warnings from the scan the table replaces.
  var changedPaths: Set<String> = []

  mutating func set(_ warnings: [BuildWarning], for entry: Int) {
    if let old = slotOfEntry.removeValue(forKey: entry) { slots[old] = [] }
    guard !warnings.isEmpty else { return }
    slotOfEntry[entry] = slots.count
    slots.append(warnings)
  }
}
