import Cramfs
import FuzzSupport

/// The input drives a small tree generator (files, directories, symlinks; names, contents and build
/// options all come from the bytes). The tree is built into an image, which must check clean and read
/// back exactly as written: same entries, types, permissions, owners, file bytes and symlink targets.
/// Any difference is a finding and traps with a message saying what differed.
@_cdecl("FuzzRoundTrip_main")
public func fuzzRoundTripMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
  runFuzzer(argc: argc, argv: argv) { start, count in
    guard let start else { return 0 }
    return fuzzRoundTrip(start, count)
  }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRoundTrip(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
  var bytes = ByteStream(UnsafeBufferPointer(start: start, count: count))
  let options = makeOptions(&bytes)
  let tree = GeneratedTree(&bytes, blockSize: options.blockSize)
  let image = "\(scratchDirectory)/image"
  removeScratchFile(image)
  defer { removeScratchFile(image) }
  do {
    try ImageBuilder.build(from: tree, to: image, options: options)
  } catch {
    fatalError("the builder refused a valid tree: \(error)")
  }
  let report: CheckReport
  do {
    report = try ImageChecker.check(path: image)
  } catch {
    fatalError("the built image cannot be checked: \(error)")
  }
  guard report.isClean else { fatalError("the built image has errors: \(report.errors.map(\.description))") }
  compare(image: image, with: tree)
  return 0
}

/// The input, consumed a byte at a time; zeros once it runs out.
struct ByteStream {
  private let bytes: UnsafeBufferPointer<UInt8>
  private var position = 0

  init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

  var isEmpty: Bool { position >= bytes.count }

  mutating func next() -> UInt8 {
    guard position < bytes.count else { return 0 }
    defer { position += 1 }
    return bytes[position]
  }

  /// A value in `0..<bound` from one or two bytes.
  mutating func next(below bound: Int) -> Int {
    let value = bound > 256 ? Int(next()) | Int(next()) << 8 : Int(next())
    return value % bound
  }
}

/// Byte order, block size, holes, boot pad, XIP of files named `x...`, and storing blocks uncompressed.
func makeOptions(_ bytes: inout ByteStream) -> BuildOptions {
  let flags = bytes.next()
  var options = BuildOptions()
  options.jobs = 1
  options.byteOrder = flags & 1 == 0 ? .little : .big
  // 4096 most of the time: the larger sizes are slower and rarer in real images.
  let sizes = BlockSizes.buildable
  options.blockSize = flags & 0b110 == 0b110 ? sizes[Int(bytes.next()) % sizes.count] : sizes[0]
  options.holes = flags & 0b1000 != 0
  options.padsBootSector = flags & 0b1_0000 != 0
  if flags & 0b10_0000 != 0 { options.xipPatterns = ["*/x*"] }
  options.storeIncompressibleBlocks = flags & 0b100_0000 != 0
  return options
}

/// A file's bytes, handed to the builder from memory.
struct MemoryContent: EntryContent, ContentReader {
  let bytes: [UInt8]

  func open() throws(CramfsError) -> any ContentReader { self }

  func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws(CramfsError) {
    bytes.withUnsafeBytes { source in
      buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[offset..<offset + buffer.count]))
    }
  }
}

/// What the generator made: entries by path (without a leading `/`, as ``CramfsImage/walkInImageOrder(_:)``
/// gives them), in the order they were made, so a parent always comes before its children.
struct GeneratedTree: ImageInput {
  var entries: [InputEntry] = []
  var byPath: [[UInt8]: Int] = [:]

  static let maxEntries = 16
  static let maxTotalBytes = 48 << 10

  init(_ bytes: inout ByteStream, blockSize: Int) {
    var directories: [[UInt8]] = [[]]
    var files: [[UInt8]] = []
    var totalBytes = 0
    while !bytes.isEmpty && entries.count < Self.maxEntries {
      let kind = bytes.next()
      let parent = directories[bytes.next(below: directories.count)]
      let name = Self.makeName(&bytes)
      let path = parent.isEmpty ? name : parent + [UInt8(ascii: "/")] + name
      let permissions = UInt16(bytes.next()) << 4 & 0o7000 | UInt16(bytes.next()) & 0o777
      let (uid, gid) = (UInt32(bytes.next()), UInt32(bytes.next()))
      // A second entry at a path would replace the first (with a warning): keep the model exact instead.
      guard byPath[path] == nil else { continue }
      var entry = InputEntry(path: path, type: .directory, permissions: permissions, uid: uid, gid: gid)
      switch kind % 8 {
      case 0, 1:
        directories.append(path)
      case 2:
        entry.type = .symlink
        let length = 1 + bytes.next(below: 48)
        entry.linkTarget = (0..<length).map { _ in max(1, bytes.next()) }
      default:
        let content: [UInt8]
        if kind % 8 == 7, let earlier = files.last, let same = entries[byPath[earlier]!].content as? MemoryContent {
          content = same.bytes  // the same bytes again: the builder shares them
        } else {
          content = Self.makeContent(&bytes, blockSize: blockSize, budget: Self.maxTotalBytes - totalBytes)
        }
        totalBytes += content.count
        entry.type = .regular
        entry.content = MemoryContent(bytes: content)
        entry.size = content.count
        files.append(path)
      }
      byPath[path] = entries.count
      entries.append(entry)
    }
  }

  /// 1 to 12 bytes, never `/` or NUL, never `.` or `..`.
  static func makeName(_ bytes: inout ByteStream) -> [UInt8] {
    let length = 1 + bytes.next(below: 12)
    var name = (0..<length).map { _ -> UInt8 in
      let byte = bytes.next()
      return byte == 0 || byte == UInt8(ascii: "/") ? UInt8(ascii: "a") + byte % 26 : byte
    }
    if name.allSatisfy({ $0 == UInt8(ascii: ".") }) && name.count <= 2 { name.append(UInt8(ascii: "_")) }
    return name
  }

  /// Mostly under 600 bytes, one time in eight up to two blocks and a bit (more would slow every execution
  /// for little gain): zeros (holes), one repeated byte, a counter or pseudo-random bytes, in runs, so that
  /// one file can mix compressible, incompressible and all-zero blocks.
  static func makeContent(_ bytes: inout ByteStream, blockSize: Int, budget: Int) -> [UInt8] {
    let bound = bytes.next() % 8 == 0 ? 2 * blockSize + 100 : 600
    let size = min(max(0, budget), bytes.next(below: bound))
    var content: [UInt8] = []
    content.reserveCapacity(size)
    while content.count < size {
      let style = bytes.next()
      let run = min(size - content.count, 1 + bytes.next(below: 2 * blockSize))
      let seed = bytes.next()
      switch style % 4 {
      case 0: content += repeatElement(0, count: run)
      case 1: content += repeatElement(seed, count: run)
      case 2: content += (0..<run).map { UInt8(truncatingIfNeeded: $0 &* (Int(seed) | 1)) }
      default:
        // Pseudo-random bytes (a linear congruential generator seeded from the input): incompressible.
        var state = UInt32(seed) &+ 1
        content += (0..<run).map { _ in
          state = state &* 1_103_515_245 &+ 12_345
          return UInt8(truncatingIfNeeded: state >> 16)
        }
      }
    }
    return content
  }

  func readTree(options: BuildOptions, scratchDirectory: String) throws(CramfsError) -> SourceTree {
    var assembler = TreeAssembler(options: options)
    for entry in entries { try assembler.add(entry) }
    return assembler.finish()
  }
}

/// Reads the image back and traps on the first difference from `tree`.
func compare(image path: String, with tree: GeneratedTree) {
  do {
    let image = try CramfsImage(path: path)
    var seen = 0
    try image.walkInImageOrder { path, node throws(CramfsError) in
      guard !path.isEmpty else { return }  // the root, implied by the builder
      let display = String(decoding: path, as: UTF8.self)
      guard let index = tree.byPath[path] else { fatalError("\(display): in the image but never written") }
      seen += 1
      let expected = tree.entries[index]
      let stat = image.stat(node)
      guard node.type == expected.type else {
        fatalError("\(display): a \(node.type.map(String.init(describing:)) ?? "?"), written as a \(expected.type)")
      }
      guard stat.mode & 0o7777 == UInt32(expected.permissions), stat.uid == expected.uid, stat.gid == expected.gid
      else {
        fatalError(
          "\(display): mode \(String(stat.mode, radix: 8)) owner \(stat.uid):\(stat.gid), written as \(String(expected.permissions, radix: 8)) \(expected.uid):\(expected.gid)"
        )
      }
      switch expected.type {
      case .regular:
        let written = (expected.content as! MemoryContent).bytes
        let read = try image.contents(of: node)
        guard read == written else {
          let at = zip(read, written).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(read.count, written.count)
          fatalError("\(display): \(read.count) bytes read, \(written.count) written; first difference at \(at)")
        }
      case .symlink:
        let target = try image.readlink(node)
        guard target == expected.linkTarget else { fatalError("\(display): symlink target differs") }
      default:
        break
      }
    }
    guard seen == tree.entries.count else {
      fatalError("\(tree.entries.count) entries written, \(seen) in the image")
    }
  } catch {
    fatalError("the built image cannot be read back: \(error)")
  }
}
