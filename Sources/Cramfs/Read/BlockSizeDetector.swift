/// Finds an image's block size from its data, since the format does not record it.
///
/// For a file larger than the smallest candidate, only the right block size puts the first block where
/// its data really starts: with a wrong one the pointer table has the wrong length, so block 0 does not
/// begin with a zlib stream that inflates to exactly `min(blockSize, size)` bytes.
enum BlockSizeDetector {
  /// How many files to look at before giving up.
  static let filesToTry = 64

  /// The unique candidate block size consistent with the image's files, or nil if no file decides.
  static func detect(view: ByteView, superblock: Superblock) -> Int? {
    let decompressor = BlockDecompressor()
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    defer { scratch.deallocate() }
    var tried = 0
    var pending: [Inode] = [superblock.root]
    var visitedDirectories: Set<Int> = []
    var entriesScanned = 0
    while let directory = pending.popLast(), tried < filesToTry, entriesScanned < 100_000 {
      let start = directory.byteOffset
      guard directory.offsetWords != 0, visitedDirectories.insert(start).inserted else { continue }
      var offset = start
      let end = start + Int(directory.size)
      while offset < end, entriesScanned < 100_000 {
        entriesScanned += 1
        guard let entry = try? DirectoryEntry(decoding: view, at: offset) else { break }
        offset += entry.encodedSize
        switch entry.inode.fileType {
        case .directory:
          pending.append(entry.inode)
        case .regular where entry.inode.size > UInt32(CramfsImage.candidateBlockSizes.min()!) && entry.inode.offsetWords != 0:
          tried += 1
          let fitting = CramfsImage.candidateBlockSizes.filter {
            firstBlockFits(entry.inode, blockSize: $0, view: view, decompressor: decompressor, scratch: scratch)
          }
          if fitting.count == 1 { return fitting[0] }
        default:
          break
        }
      }
    }
    return nil
  }

  private static func firstBlockFits(
    _ inode: Inode, blockSize: Int, view: ByteView, decompressor: BlockDecompressor, scratch: UnsafeMutableRawBufferPointer
  ) -> Bool {
    let size = Int(inode.size)
    guard let location = try? BlockLocation.locate(block: 0, tableOffset: inode.byteOffset, fileSize: size, blockSize: blockSize, in: view)
    else { return false }
    let expected = min(blockSize, size)
    switch location.kind {
    case .hole:
      // A hole says nothing about the block size unless the table itself is implausible.
      return location.start == inode.byteOffset + 4 * ((size + blockSize - 1) / blockSize) || location.pointer.isDirect
    case .uncompressed, .directUncompressed:
      return location.length == expected
    case .compressed, .directCompressed:
      guard let source = try? view.slice(location.start, location.length),
        let produced = try? decompressor.decompress(source, into: UnsafeMutableRawBufferPointer(rebasing: scratch[0..<blockSize]))
      else { return false }
      return produced == expected
    }
  }
}
