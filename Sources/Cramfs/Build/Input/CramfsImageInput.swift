/// An existing cramfs image, rebuilt with new options (byte order, block size, pad, XIP layout, level)
/// without extracting it: any byte order, pad and block size (detected), at any offset in its file.
///
///     var options = BuildOptions()
///     options.byteOrder = .big
///     try ImageBuilder.build(from: CramfsImageInput(path: "little.cramfs"), to: "big.cramfs", options: options)
///
/// Entries keep the mode, owner and device number the image stores (already cut to cramfs's widths);
/// files are read back through the image (holes and XIP blocks included) as the builder needs them.
public struct CramfsImageInput: ImageInput {
  /// The file holding the image.
  public var path: String
  /// Where the image starts in the file.
  public var offset: Int
  /// The image's block size; nil detects it.
  public var blockSize: Int?

  /// The image in `path` at `offset`, with its block size detected unless given.
  public init(path: String, offset: Int = 0, blockSize: Int? = nil) {
    self.path = path
    self.offset = offset
    self.blockSize = blockSize
  }

  /// - Throws: `CramfsError` for an image that cannot be read (naming the entry), or whose block size
  ///   its data does not decide (give ``blockSize``).
  public func readTree(options: BuildOptions, scratchDirectory: String) throws(CramfsError)
    -> SourceTree
  {
    let image: CramfsImage
    do {
      image = try CramfsImage(path: path, blockSize: blockSize, offset: offset)
      try image.requireKnownBlockSize()
    } catch {
      throw CramfsError(error.code, "\(path): \(error.message)", offset: error.offset, path: path)
    }
    var assembler = TreeAssembler(options: options)
    do throws(CramfsError) {
      try image.walkInImageOrder { (entryPath, node) throws(CramfsError) in
        try Self.add(node, path: entryPath, image: image, to: &assembler)
      }
    } catch {
      throw CramfsError(error.code, "\(path): \(error.message)", offset: error.offset, path: error.path)
    }
    return assembler.finish()
  }

  private static func add(
    _ node: Node, path: [UInt8], image: CramfsImage, to assembler: inout TreeAssembler
  ) throws(CramfsError) {
    do {
      try assembler.add(try entry(node, path: path, image: image))
    } catch {
      let display = "/" + String(decoding: path, as: UTF8.self)
      throw CramfsError(
        error.code, "\(display): \(error.message)", offset: error.offset ?? node.entryOffset, path: display)
    }
  }

  private static func entry(_ node: Node, path: [UInt8], image: CramfsImage) throws(CramfsError)
    -> InputEntry
  {
    let display = "/" + String(decoding: path, as: UTF8.self)
    guard let type = node.type else {
      throw CramfsError(
        .corrupted, "unknown file type (mode 0o\(String(node.inode.mode, radix: 8)))",
        offset: node.entryOffset, path: display)
    }
    var entry = InputEntry(
      path: path, type: type, permissions: node.inode.mode & 0o7777, uid: UInt32(node.inode.uid),
      gid: UInt32(node.inode.gid))
    switch type {
    case .regular:
      entry.size = Int(node.inode.size)
      if node.inode.size > 0 {
        try image.requireKnownBlockSize(for: node)
        entry.content = ImageFileContent(image: image, node: node, path: display)
      }
    case .symlink:
      do {
        entry.linkTarget = try image.readlink(node)
      } catch {
        throw CramfsError(error.code, error.message, offset: error.offset, path: display)
      }
    case .characterDevice, .blockDevice:
      // The inverse of `DeviceNumber.inodeSize`, so the rebuilt inode stores the same 24 bits.
      entry.device = DeviceNumber(storedSize: node.inode.size)
    case .directory, .fifo, .socket:
      break
    }
    return entry
  }
}

/// A file's bytes read back from the image it is in.
struct ImageFileContent: EntryContent, ContentReader {
  let image: CramfsImage
  let node: Node
  let path: String

  func open() throws(CramfsError) -> any ContentReader { self }

  func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws(CramfsError) {
    let count: Int
    do {
      count = try image.read(node, offset: offset, into: buffer)
    } catch {
      throw CramfsError(error.code, "\(path): \(error.message)", offset: error.offset, path: path)
    }
    guard count == buffer.count else {
      throw CramfsError(.corrupted, "\(path): data ends at \(offset + count) bytes", path: path)
    }
  }
}
