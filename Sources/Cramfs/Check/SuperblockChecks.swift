/// The superblock rules: magic and byte order, flags, size against the file, signature, CRC, file
/// count, root type and root offset.
enum SuperblockChecks {
  /// Runs the superblock checks; returns the context for the tree checks, or nil when the image cannot
  /// be walked (no superblock, or a root that is not a directory).
  static func run(
    bytes: UnsafeRawBufferPointer, options: CheckOptions, sink: inout DiagnosticSink, report: inout CheckReport
  ) -> CheckContext? {
    let geometry: ImageGeometry
    do {
      geometry = try ImageGeometry.detect(bytes)
    } catch {
      sink.add(Diagnostic(code: error.code == .truncated ? .truncated : .badMagic, error: error))
      return nil
    }
    report.byteOrder = geometry.byteOrder.rawValue
    report.superblockOffset = geometry.superblockOffset
    let start = geometry.superblockOffset
    if let expected = options.expectedByteOrder, expected != geometry.byteOrder {
      sink.error(
        .wrongByteOrder, "the image is \(geometry.byteOrder)-endian; a \(expected)-endian kernel refuses it (wrong endianness)",
        offset: start)
    }
    let full = ByteView(bytes, byteOrder: geometry.byteOrder)
    guard let superblock = try? Superblock(decoding: full, at: start) else {
      sink.error(.truncated, "the superblock at \(hex(start)) is cut short", offset: start)
      return nil
    }
    let flags = superblock.flags
    if !flags.unknown.isEmpty {
      sink.error(
        .unsupportedFlags,
        "unknown superblock flags \(hex(Int(flags.unknown.rawValue))) (the kernel refuses to mount: unsupported filesystem features)",
        offset: start + 8)
    }
    let view = superblock.boundedView(of: full, superblockAt: start)
    let size = Int(superblock.size)
    if flags.contains(.fsidVersion2) {
      if size < start + Superblock.encodedSize {
        sink.error(.badSize, "superblock size \(hex(size)) is too small", offset: start + 4)
      } else {
        if size > bytes.count {
          sink.error(
            .truncated, "image is truncated: the superblock says \(hex(size)) bytes, the file has \(hex(bytes.count))",
            offset: bytes.count)
        } else if size < bytes.count {
          sink.warning(.trailingData, "the file extends \(bytes.count - size) bytes past the end of the filesystem", offset: size)
        }
      }
      if superblock.fsid.files == 0 {
        sink.error(.zeroFileCount, "fsid.files is zero", offset: start + 44)
      }
      checkCRC(bytes: bytes, start: start, superblock: superblock, sink: &sink)
    } else {
      sink.warning(.oldFormat, "FSID_VERSION_2 is not set: size, file counts and CRC cannot be checked", offset: start + 8)
    }
    if !superblock.hasStandardSignature && !flags.contains(.wrongSignature) {
      sink.error(
        .badSignature, "signature is '\(DirectoryScanner.displayName(superblock.signature))', not 'Compressed ROMFS'",
        offset: start + 16)
    }
    let root = superblock.root
    guard root.fileType == .directory else {
      sink.error(.rootNotDirectory, "root inode is not a directory (mode 0o\(String(root.mode, radix: 8)))", offset: start + 64, path: "/")
      return nil
    }
    let rootOffset = root.byteOffset
    if rootOffset == 0 {
      if root.size != 0 {
        sink.error(.zeroOffset, "root directory has zero offset and non-zero size \(root.size)", offset: start + 64, path: "/")
      }
    } else if !flags.contains(.shiftedRootOffset) && rootOffset != Superblock.encodedSize
      && rootOffset != Superblock.padSize + Superblock.encodedSize
    {
      sink.error(
        .badRootOffset, "bad root offset \(hex(rootOffset)): must be 0x4c or 0x24c without SHIFTED_ROOT_OFFSET",
        offset: start + 64, path: "/")
    }
    let detection = options.blockSize.map(BlockSizeDetection.given) ?? BlockSizeDetector.detect(view: view, superblock: superblock)
    report.blockSize = detection.blockSize
    report.blockSizeWasDetected = detection.method == .detected
    report.blockSizeSource = detection.method.rawValue
    if detection.method == .damaged {
      sink.warning(.blockSizeDamaged, "no block size fits all of the data; checking with \(detection.blockSize): \(detection.summary)", offset: start + 4)
    }
    return CheckContext(
      view: view, geometry: geometry, superblock: superblock, blockSize: detection.blockSize, blockSizeDetection: detection,
      fileLength: bytes.count)
  }

  private static func checkCRC(bytes: UnsafeRawBufferPointer, start: Int, superblock: Superblock, sink: inout DiagnosticSink) {
    guard let crc = superblock.expectedCRC(in: bytes, superblockAt: start, update: { crc32Checksum($1, continuing: $0) }) else { return }
    if crc != superblock.fsid.crc {
      sink.error(
        .crcMismatch, "crc error: stored \(hex(Int(superblock.fsid.crc))), computed \(hex(Int(crc)))",
        offset: start + Superblock.crcOffset)
    }
  }
}
