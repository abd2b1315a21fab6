/// A cramfs image opened for reading: path lookup, directory listing, stat, readlink and file data.
///
///     let image = try CramfsImage(path: "rootfs.cramfs")
///     let node = try image.lookup("/etc/passwd")
///     let text = try image.contents(of: node)
///
/// Either byte order, with or without the 512-byte pad, every block kind. The block size (the page size of
/// the target) is not recorded in an image: it is detected from the data unless given.
/// Immutable and `Sendable`: many threads may read at once. Corrupt input throws `CramfsError` naming
/// what is wrong and where; nothing reads outside the image.
public final class CramfsImage: Sendable {
  package let storage: ImageStorage
  /// The image's bytes, bounded by the superblock's `size` (when valid) and the file's length.
  package let view: ByteView
  public let geometry: ImageGeometry
  public let superblock: Superblock
  /// Bytes per block (= the target's page size).
  public var blockSize: Int { blockSizeDetection.blockSize }
  /// How ``blockSize`` was found: given, detected, or not decided by the data (then files whose content
  /// depends on it are not read, see ``BlockSizeDetection/unambiguousFileSize``).
  public let blockSizeDetection: BlockSizeDetection
  /// Whether `blockSize` was detected from the data, as the only size consistent with it.
  public var blockSizeWasDetected: Bool { blockSizeDetection.method == .detected }
  /// Where the image starts in its file or buffer.
  let imageOffset: Int
  /// Length of the file or buffer the image was opened from.
  public let fileLength: Int
  /// Decompressors shared by the threads reading the image, so that a read does not allocate one.
  let decompressors = Pool<BlockDecompressor>(maxIdle: 16) { BlockDecompressor() }

  /// Opens the image file at `path` (memory-mapped).
  ///
  /// - Parameters:
  ///   - path: the image file (or a file holding one at `offset`).
  ///   - blockSize: the block size if known; detected when nil.
  ///   - offset: where the image starts inside the file (for an image inside a flash dump).
  ///   - readingAll: the caller will read every file (see ``MappedFile/init(path:readingAll:)``).
  public convenience init(path: String, blockSize: Int? = nil, offset: Int = 0, readingAll: Bool = false) throws(CramfsError) {
    let mapping = try MappedFile(path: path, readingAll: readingAll)
    try self.init(storage: ImageStorage(mapping: mapping), blockSize: blockSize, offset: offset)
  }

  /// Opens an image held in memory (the bytes are copied).
  public convenience init<C: Collection>(bytes: C, blockSize: Int? = nil) throws(CramfsError) where C.Element == UInt8 {
    try self.init(storage: ImageStorage(copying: bytes), blockSize: blockSize, offset: 0)
  }

  package init(storage: ImageStorage, blockSize: Int? = nil, offset: Int = 0) throws(CramfsError) {
    guard offset >= 0, offset <= storage.bytes.count else {
      throw CramfsError(.invalidArgument, "offset \(offset) is past the end of the file (\(storage.bytes.count) bytes)")
    }
    self.storage = storage
    imageOffset = offset
    let bytes = UnsafeRawBufferPointer(rebasing: storage.bytes[offset...])
    fileLength = bytes.count
    let geometry = try ImageGeometry.detect(bytes)
    let full = ByteView(bytes, byteOrder: geometry.byteOrder)
    let superblock = try Superblock(decoding: full, at: geometry.superblockOffset)
    self.geometry = geometry
    self.superblock = superblock
    view = superblock.boundedView(of: full, superblockAt: geometry.superblockOffset)
    guard superblock.root.fileType == .directory else {
      throw CramfsError(.corrupted, "root is not a directory (mode 0o\(String(superblock.root.mode, radix: 8)))", offset: geometry.superblockOffset + 64)
    }
    if let blockSize {
      guard BlockSizes.isReadable(blockSize) else {
        throw CramfsError(.invalidArgument, "block size \(blockSize) is not \(BlockSizes.readableDescription)")
      }
      blockSizeDetection = .given(blockSize)
    } else {
      blockSizeDetection = BlockSizeDetector.detect(view: view, superblock: superblock)
    }
  }

  /// The same image read with another block size (no detection).
  public func withBlockSize(_ blockSize: Int) throws(CramfsError) -> CramfsImage {
    try CramfsImage(storage: storage, blockSize: blockSize, offset: imageOffset)
  }

  /// Throws when the data of an undamaged image does not decide the block size and some file would read
  /// differently under the sizes that fit (``BlockSizeDetection/Method/undecided``): for whole-image work
  /// (extraction, a mount). In a damaged image, only the files whose reading depends on it refuse
  /// (``requireKnownBlockSize(for:)``), so that the rest can be saved.
  ///
  /// - Throws: `CramfsError/Code/ambiguousBlockSize` naming the sizes that fit the data.
  public func requireKnownBlockSize() throws(CramfsError) {
    let detection = blockSizeDetection
    guard detection.method == .undecided, !detection.isDamaged else { return }
    let sizes = detection.contenders.map(String.init).joined(separator: " and ")
    throw CramfsError(
      .ambiguousBlockSize,
      "the image does not record its block size and its data fits \(sizes) equally, which read its files over \(detection.unambiguousFileSize) bytes differently")
  }

  /// Throws unless `node`'s data reads the same whatever the true block size is, or the block size is
  /// known (given, or detected).
  ///
  /// - Throws: `CramfsError/Code/ambiguousBlockSize` naming the sizes that fit the data.
  public func requireKnownBlockSize(for node: Node) throws(CramfsError) {
    let detection = blockSizeDetection
    guard Int(node.inode.size) > detection.unambiguousFileSize else { return }
    let sizes = detection.contenders.map(String.init).joined(separator: " and ")
    throw CramfsError(
      .ambiguousBlockSize,
      "the image does not record its block size and its data fits \(sizes) equally, which read this \(node.inode.size)-byte file differently",
      offset: node.entryOffset, path: node.nameString)
  }

  // MARK: - Entries

  /// The root directory.
  public var root: Node {
    Node(inode: superblock.root, name: [], entryOffset: geometry.superblockOffset + 64, inodeNumber: DirectoryEntry.inodeNumber(inode: superblock.root, entryOffset: 0), isRoot: true)
  }

  /// The entries of `directory`, in image order.
  ///
  /// - Throws: `CramfsError/Code/wrongType` if `directory` is not a directory; a decoding error if an
  ///   entry is malformed or runs past the directory's size.
  public func children(of directory: Node) throws(CramfsError) -> [Node] {
    guard directory.type == .directory else {
      throw CramfsError(.wrongType, "not a directory", offset: directory.entryOffset)
    }
    let size = Int(directory.inode.size)
    guard size > 0, directory.inode.offsetWords != 0 else { return [] }
    let start = directory.inode.byteOffset
    let end = start + size
    try view.checkRange(start, size, "a directory's entries")
    var nodes: [Node] = []
    var offset = start
    while offset < end {
      let entry = try DirectoryEntry(decoding: view, at: offset)
      guard offset + entry.encodedSize <= end else {
        throw CramfsError(.corrupted, "directory entry runs past the end of its directory (0x\(String(end, radix: 16)))", offset: offset)
      }
      nodes.append(Node(entry: entry))
      offset += entry.encodedSize
    }
    return nodes
  }

  /// Looks up a path inside the image (`/a/b`, `a/b`; `/` or empty is the root).
  ///
  /// - Parameters:
  ///   - path: the path, absolute or relative to the root.
  ///   - followingLinks: follow symlinks, as `open(2)` on a mounted image would (the last
  ///     component's too); otherwise a symlink is returned as itself and only directories are entered.
  /// - Throws: `CramfsError/Code/notFound` naming the path when a component is missing (or a link loops).
  public func lookup(_ path: String, followingLinks: Bool = false) throws(CramfsError) -> Node {
    var pending = Array(path.split(separator: "/", omittingEmptySubsequences: true).map(String.init).reversed())
    var stack: [Node] = [root]
    var hops = 0
    while let component = pending.popLast() {
      if component == "." { continue }
      if component == ".." {
        if stack.count > 1 { stack.removeLast() }
        continue
      }
      let current = stack[stack.count - 1]
      guard current.type == .directory else {
        throw CramfsError(.notFound, "\(path): not a directory on the way", path: path)
      }
      let wanted = Array(component.utf8)
      guard let child = try children(of: current).first(where: { $0.name == wanted }) else {
        throw CramfsError(.notFound, "\(path): no such file or directory in the image", path: path)
      }
      guard followingLinks, child.type == .symlink else {
        stack.append(child)
        continue
      }
      // As the kernel's path walk: a target is resolved inside the image (an absolute one from its root),
      // and at most 40 links are followed.
      hops += 1
      guard hops <= 40 else {
        throw CramfsError(.notFound, "\(path): too many levels of symbolic links", path: path)
      }
      let target = String(decoding: try readlink(child), as: UTF8.self)
      if target.hasPrefix("/") { stack = [root] }
      pending.append(contentsOf: target.split(separator: "/", omittingEmptySubsequences: true).map(String.init).reversed())
    }
    return stack[stack.count - 1]
  }

  // MARK: - Metadata

  /// The attributes the kernel reports for `node` (times are always 0, the link count 1).
  public func stat(_ node: Node) -> Stat { Stat(node: node) }

  /// The target of a symlink.
  public func readlink(_ node: Node) throws(CramfsError) -> [UInt8] {
    guard node.type == .symlink else { throw CramfsError(.wrongType, "not a symlink", offset: node.entryOffset) }
    return try read(node, offset: 0, count: Int(node.inode.size))
  }
}
