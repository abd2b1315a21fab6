extension CramfsImage {
  /// Where each block of a regular file or symlink is stored.
  public func blockLocations(of node: Node) throws(CramfsError) -> [BlockLocation] {
    try requireData(node)
    let count = node.blockCount(blockSize: blockSize)
    var locations: [BlockLocation] = []
    locations.reserveCapacity(count)
    for index in 0..<count { locations.append(try location(of: node, block: index)) }
    return locations
  }

  /// Where block `index` of `node` is stored (the kernel's computation).
  public func location(of node: Node, block index: Int) throws(CramfsError) -> BlockLocation {
    try requireKnownBlockSize(for: node)
    do {
      return try BlockLocation.locate(
        block: index, tableOffset: node.inode.byteOffset, fileSize: Int(node.inode.size), blockSize: blockSize, in: view)
    } catch {
      throw error.inPath(node.nameString)
    }
  }

  /// The uncompressed bytes of block `index` of `node`, written to the start of `buffer` (at least
  /// `blockSize` bytes); returns how many bytes the block holds (`min(blockSize, rest of file)`).
  ///
  /// Reads what the data really is: a direct uncompressed last block of a file whose size is a multiple
  /// of the block size is returned in full (mmap shows it so), although the kernel's `read()` returns zeros
  /// for it (`BlockKind/directUncompressedFullLastPage`; `BlockKind/readsAsZeros` says what `read()` gives).
  ///
  /// - Throws: `CramfsError/Code/compression` if the block does not inflate to exactly its length.
  public func readBlock(_ node: Node, block index: Int, into buffer: UnsafeMutableRawBufferPointer) throws(CramfsError) -> Int {
    try readBlock(node, block: index, at: try location(of: node, block: index), into: buffer)
  }

  /// ``readBlock(_:block:into:)`` for a `location` that ``location(of:block:)`` returned for this block
  /// (a caller that looked at the location first need not compute it twice).
  public func readBlock(
    _ node: Node, block index: Int, at location: BlockLocation, into buffer: UnsafeMutableRawBufferPointer
  ) throws(CramfsError) -> Int {
    precondition(buffer.count >= blockSize, "buffer smaller than a block")
    let size = Int(node.inode.size)
    let expected = min(blockSize, size - index * blockSize)
    switch location.kind {
    case .hole:
      buffer.baseAddress!.initializeMemory(as: UInt8.self, repeating: 0, count: expected)
    case .uncompressed, .directUncompressed, .directUncompressedFullLastPage:
      // A full direct last page is returned as stored (mmap shows it so; see the doc comment).
      guard location.length == expected else {
        throw CramfsError(.corrupted, "uncompressed block \(index) holds \(location.length) bytes, expected \(expected)", offset: location.start, path: node.nameString)
      }
      let source = try view.slice(location.start, location.length, "an uncompressed block")
      buffer.copyMemory(from: source)
    case .compressed, .directCompressed:
      let source = try view.slice(location.start, location.length, "a compressed block")
      let produced: Int
      do {
        produced = try decompressors.withElement { (decompressor) throws(CramfsError) -> Int in
          try decompressor.decompress(source, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<blockSize]))
        }
      } catch {
        throw CramfsError(.compression, "block \(index): \(error.message)", offset: location.start, path: node.nameString)
      }
      guard produced == expected else {
        throw CramfsError(.compression, "block \(index) inflates to \(produced) bytes, expected \(expected)", offset: location.start, path: node.nameString)
      }
    }
    return expected
  }

  /// Reads up to `count` bytes of a regular file or symlink starting at `offset`.
  public func read(_ node: Node, offset: Int, count: Int) throws(CramfsError) -> [UInt8] {
    let size = Int(node.inode.size)
    guard offset >= 0, count >= 0 else { throw CramfsError(.invalidArgument, "negative offset or count") }
    let end = offset >= size ? offset : offset + min(count, size - offset)
    guard offset < end else {
      try requireFileLike(node)
      return []
    }
    var result = [UInt8](repeating: 0, count: end - offset)
    // withUnsafeMutableBytes rethrows untyped errors, so the typed one is carried out by hand.
    let failure = result.withUnsafeMutableBytes { out -> CramfsError? in
      do throws(CramfsError) { _ = try read(node, offset: offset, into: out) } catch { return error }
      return nil
    }
    if let failure { throw failure }
    return result
  }

  /// Reads bytes of a regular file or symlink starting at `offset` into `buffer`; returns how many were
  /// read (fewer than `buffer.count` only at the end of the file).
  public func read(_ node: Node, offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws(CramfsError) -> Int {
    try requireFileLike(node)
    let size = Int(node.inode.size)
    guard offset >= 0 else { throw CramfsError(.invalidArgument, "negative offset") }
    guard offset < size, buffer.count > 0 else { return 0 }
    try requireData(node)
    let end = min(size, offset + buffer.count)
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 16)
    defer { scratch.deallocate() }
    var position = offset
    while position < end {
      let index = position / blockSize
      let within = position - index * blockSize
      let produced = try readBlock(node, block: index, into: scratch)
      let take = min(produced - within, end - position)
      UnsafeMutableRawBufferPointer(rebasing: buffer[(position - offset)...]).copyMemory(
        from: UnsafeRawBufferPointer(rebasing: scratch[within..<(within + take)]))
      position += take
    }
    return end - offset
  }

  /// The whole content of a regular file or symlink.
  public func contents(of node: Node) throws(CramfsError) -> [UInt8] {
    try read(node, offset: 0, count: Int(node.inode.size))
  }

  private func requireFileLike(_ node: Node) throws(CramfsError) {
    guard node.type == .regular || node.type == .symlink else {
      throw CramfsError(.wrongType, "not a regular file or symlink", offset: node.entryOffset, path: node.nameString)
    }
  }

  private func requireData(_ node: Node) throws(CramfsError) {
    try requireFileLike(node)
    try requireKnownBlockSize(for: node)
    guard node.inode.size == 0 || node.inode.offsetWords != 0 else {
      throw CramfsError(.corrupted, "non-empty file has no data offset", offset: node.entryOffset, path: node.nameString)
    }
  }

  // MARK: - Checksum

  /// The CRC stored in the superblock and the one computed over `[superblock, size)` with that field zeroed.
  /// Nil when the image has no valid CRC (`FSID_VERSION_2` unset) or `size` runs past the data.
  public func checksum() -> (stored: UInt32, computed: UInt32)? {
    guard superblock.flags.contains(.fsidVersion2) else { return nil }
    let computed = superblock.expectedCRC(in: view.bytes, superblockAt: geometry.superblockOffset) { crc32Checksum($1, continuing: $0) }
    return computed.map { (superblock.fsid.crc, $0) }
  }
}
