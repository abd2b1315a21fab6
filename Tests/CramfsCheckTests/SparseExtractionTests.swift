import Cramfs
import CramfsTestSupport
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Extraction leaves all-zero blocks as holes: the file reads back the same, `Self.seekHole` finds the holes,
/// and it occupies less disk than its size.
@Suite struct SparseExtractionTests {
  // Linux's values; Glibc exports them only under _GNU_SOURCE.
  static let seekData: Int32 = 3
  static let seekHole: Int32 = 4

  /// Blocks of the test file: data, then zeros, then data, then zeros to the end (a short last block).
  static func content(blockSize: Int) -> [UInt8] {
    var bytes = [UInt8]()
    for index in 0..<3 * blockSize { bytes.append(UInt8(truncatingIfNeeded: index &* 2_654_435_761 >> 13)) }
    bytes += [UInt8](repeating: 0, count: 10 * blockSize)
    for index in 0..<blockSize { bytes.append(UInt8(truncatingIfNeeded: index % 7 + 1)) }
    bytes += [UInt8](repeating: 0, count: 5 * blockSize + 100)
    return bytes
  }

  @Test(arguments: [(4096, true), (4096, false), (65536, true)])
  func zeroBlocksBecomeHoles(blockSize: Int, holesInImage: Bool) throws {
    let work = try TemporaryDirectory()
    let tree = work.file("tree")
    try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
    let bytes = Self.content(blockSize: blockSize)
    try Data(bytes).write(to: URL(fileURLWithPath: tree + "/sparse"))
    var options = BuildOptions()
    options.blockSize = blockSize
    options.holes = holesInImage
    try ImageBuilder.build(from: tree, to: work.file("image"), options: options)

    let image = try CramfsImage(path: work.file("image"))
    let report = try ImageExtractor.extract(image, to: work.file("out"))
    #expect(report.errorCount == 0)
    let path = work.file("out/sparse")
    #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(bytes))

    let fd = open(path, O_RDONLY)
    try #require(fd >= 0)
    defer { close(fd) }
    // The first hole starts after the three data blocks; data resumes at block 13; the tail is a hole
    // (Self.seekHole from the last data block reaches the zeros after it, before the end of the file).
    #expect(lseek(fd, 0, Self.seekHole) == off_t(3 * blockSize))
    #expect(lseek(fd, off_t(3 * blockSize), Self.seekData) == off_t(13 * blockSize))
    #expect(lseek(fd, off_t(13 * blockSize), Self.seekHole) == off_t(14 * blockSize))
    var info = stat()
    #expect(fstat(fd, &info) == 0)
    #expect(Int(info.st_size) == bytes.count)
    #expect(Int(info.st_blocks) * 512 <= 4 * blockSize + 8192, "allocated \(info.st_blocks * 512) bytes")
  }
}
