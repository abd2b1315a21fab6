import ArgumentParser
import Cramfs

extension CramfsCommand {
  /// `cramfs cat IMAGE PATH...`: writes files of the image to standard output.
  ///
  ///     $ cramfs cat rootfs.img /etc/hostname
  ///     board
  public struct Cat: ParsableCommand {
    public static let configuration = CommandConfiguration(
      commandName: "cat",
      abstract: "Write files of an image to standard output.",
      discussion: "Symlinks are followed inside the image (absolute targets start at the image's root).")

    @Argument(help: "The cramfs image.")
    public var image: String

    @Argument(help: "Files inside the image.")
    public var paths: [String]

    @OptionGroup public var imageOptions: ImageOptions

    public init() {}

    public func validate() throws {
      if paths.isEmpty { throw ValidationError("Missing expected argument '<paths> ...'") }
    }

    public func run() throws {
      let image = try imageOptions.open(self.image)
      // Whole blocks decompress straight into this buffer, which goes out in one write.
      let blocksPerWrite = max(1, (1 << 20) / image.blockSize)
      let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blocksPerWrite * image.blockSize, alignment: 16)
      defer { buffer.deallocate() }
      for path in paths {
        let node = try image.lookup(path, followingLinks: true)
        guard node.type == .regular else {
          let what = node.type == .directory ? "is a directory" : "is not a regular file (\(node.type?.description ?? "unknown type"))"
          throw CramfsError(.wrongType, "\(path): \(what)", path: path)
        }
        try Self.write(node, of: image, through: buffer)
      }
    }

    private static func write(_ node: Node, of image: CramfsImage, through buffer: UnsafeMutableRawBufferPointer) throws(CramfsError) {
      let blockCount = node.blockCount(blockSize: image.blockSize)
      guard blockCount == 0 || node.inode.offsetWords != 0 else {
        throw CramfsError(.corrupted, "non-empty file has no data offset", offset: node.entryOffset, path: node.nameString)
      }
      var block = 0
      while block < blockCount {
        var filled = 0
        while block < blockCount, filled + image.blockSize <= buffer.count {
          filled += try image.readBlock(node, block: block, into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
          block += 1
        }
        try FileOutput.standardOutput.writeAll(UnsafeRawBufferPointer(rebasing: buffer[..<filled]))
      }
    }
  }
}
