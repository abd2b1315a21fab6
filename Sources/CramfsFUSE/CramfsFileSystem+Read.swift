import Cramfs

extension CramfsFileSystem {
  /// Reads up to `count` bytes of a regular file or symlink at `offset` into `destination`, through the
  /// block cache; returns how many bytes were read (fewer only at the end of the file).
  ///
  /// `destination` must have room for `count` bytes plus one block (a last block inflates into a whole
  /// block), and `scratch` one block. Allocates nothing.
  ///
  /// - Throws: ``CramfsError`` for a corrupt block; `failedOffset` then holds the file offset of that block.
  public func read(
    _ node: Node, offset: Int, count: Int, into destination: UnsafeMutableRawPointer,
    scratch: UnsafeMutableRawBufferPointer
  ) throws(CramfsError) -> Int {
    let size = Int(node.inode.size)
    guard offset >= 0, count > 0, offset < size else { return 0 }
    let blockSize = image.blockSize
    let end = min(size, offset + count)
    var position = offset
    while position < end {
      let index = position / blockSize
      let within = position - index * blockSize
      let blockLength = min(blockSize, size - index * blockSize)
      let take = min(blockLength - within, end - position)
      let target = destination + (position - offset)
      let whole = within == 0 && take == blockLength
      let location: BlockLocation
      do {
        location = try image.location(of: node, block: index)
      } catch {
        throw error.atFileOffset(index * blockSize)
      }
      if location.kind == .compressed || location.kind == .directCompressed {
        let key = BlockCache.key(start: location.start, length: blockLength)
        if !cache.copy(key, range: within..<(within + take), to: target) {
          let output = whole ? UnsafeMutableRawBufferPointer(start: target, count: blockSize) : scratch
          do {
            _ = try image.readBlock(node, block: index, at: location, into: output)
          } catch {
            throw error.atFileOffset(index * blockSize)
          }
          // A block read whole lands in the kernel's page cache (kept: the image never changes), so only
          // blocks read in parts, which the next request will want again, go in this cache.
          if !whole { cache.insert(key, from: UnsafeRawPointer(output.baseAddress!), count: blockLength) }
          if !whole { target.copyMemory(from: scratch.baseAddress! + within, byteCount: take) }
        }
      } else {
        // Stored verbatim or a hole: a copy from the mapped image or zeros, not worth caching.
        let output = whole ? UnsafeMutableRawBufferPointer(start: target, count: blockSize) : scratch
        do {
          _ = try image.readBlock(node, block: index, at: location, into: output)
        } catch {
          throw error.atFileOffset(index * blockSize)
        }
        if !whole { target.copyMemory(from: scratch.baseAddress! + within, byteCount: take) }
      }
      position += take
    }
    return end - offset
  }
}

extension CramfsError {
  /// The error with "at file offset N" added to its message.
  func atFileOffset(_ offset: Int) -> CramfsError {
    var copy = self
    copy.message += " (file offset \(offset))"
    return copy
  }
}
