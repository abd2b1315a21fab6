import Cramfs

/// One entry of a hand-made image. Names are raw bytes, written exactly as given (no sorting, no checks),
/// so that tests can write the hostile images no builder would.
struct HandEntry {
  var name: [UInt8]
  var mode: UInt16
  var uid: UInt16 = 0
  var gid: UInt8 = 0
  /// File content or symlink target.
  var content: [UInt8] = []
  var children: [HandEntry] = []
  /// Device number for device nodes (the 16-bit `size`).
  var rdev: UInt32 = 0

  static func file(_ name: String, _ content: [UInt8], mode: UInt16 = 0o644) -> HandEntry {
    HandEntry(name: Array(name.utf8), mode: 0o100000 | mode, content: content)
  }

  static func directory(_ name: String, _ children: [HandEntry], mode: UInt16 = 0o755) -> HandEntry {
    HandEntry(name: Array(name.utf8), mode: 0o040000 | mode, children: children)
  }

  static func symlink(_ name: String, _ target: String) -> HandEntry {
    HandEntry(name: Array(name.utf8), mode: 0o120777, content: Array(target.utf8))
  }

  static func raw(_ name: [UInt8], mode: UInt16, content: [UInt8] = [], children: [HandEntry] = []) -> HandEntry {
    HandEntry(name: name, mode: mode, content: content, children: children)
  }
}

/// A cramfs image written by hand: superblock, then each directory's entries (root first, then
/// subdirectories depth first), then each file's pointer table and zlib blocks, padded to the block size.
/// Records where everything is, so tests can corrupt exactly one structure.
struct HandImage {
  var bytes: [UInt8]
  let order: ByteOrder
  let blockSize: Int
  /// Path → offset of its inode (the root's is 64).
  var inodeOffsets: [String: Int] = [:]
  /// Directory path → offset of its entries.
  var directoryOffsets: [String: Int] = [:]
  /// File path → offset of its pointer table.
  var tableOffsets: [String: Int] = [:]
  /// File path → (start, end) of each stored block.
  var blocks: [String: [(Int, Int)]] = [:]

  init(
    _ root: [HandEntry], order: ByteOrder = .little, blockSize: Int = 4096,
    flags: SuperblockFlags = [.fsidVersion2, .sortedDirectories]
  ) {
    self.order = order
    self.blockSize = blockSize
    bytes = [UInt8](repeating: 0, count: Superblock.encodedSize)
    // Directory blocks in pre-order.
    var directories: [(path: String, entries: [HandEntry])] = []
    func collect(_ path: String, _ entries: [HandEntry]) {
      directories.append((path, entries))
      for entry in entries where entry.mode & 0o170000 == 0o040000 {
        collect(Self.join(path, entry.name), entry.children)
      }
    }
    collect("/", root)
    func entryBytes(of entries: [HandEntry]) -> Int { entries.reduce(0) { $0 + 12 + Self.padded($1.name.count) } }
    var position = Superblock.encodedSize
    for directory in directories where !directory.entries.isEmpty {
      directoryOffsets[directory.path] = position
      position += entryBytes(of: directory.entries)
    }
    // File data after the directories.
    var files: [(path: String, content: [UInt8])] = []
    for directory in directories {
      for entry in directory.entries where [0o100000, 0o120000].contains(entry.mode & 0o170000) && !entry.content.isEmpty {
        files.append((Self.join(directory.path, entry.name), entry.content))
      }
    }
    var data = ByteWriter(byteOrder: order)
    var blockTotal = 0
    let compressor = try! BlockCompressor(implementation: .zlib, level: 6)
    for file in files {
      let count = (file.content.count + blockSize - 1) / blockSize
      blockTotal += count
      let table = position + data.bytes.count
      tableOffsets[file.path] = table
      var stored: [UInt8] = []
      var ends: [UInt32] = []
      var ranges: [(Int, Int)] = []
      for index in 0..<count {
        let low: Int = index * blockSize
        let high: Int = min(file.content.count, low + blockSize)
        let chunk = Array(file.content[low..<high])
        let start = table + 4 * count + stored.count
        chunk.withUnsafeBytes { _ = compressor.compress($0, appendingTo: &stored) }
        ends.append(UInt32(table + 4 * count + stored.count))
        ranges.append((start, table + 4 * count + stored.count))
      }
      for end in ends { data.append(end) }
      data.append(contentsOf: stored)
      data.pad(toMultipleOf: 4)
      blocks[file.path] = ranges
    }
    // Directory entries, now that data offsets are known.
    var writer = ByteWriter(byteOrder: order)
    var entryCount = 0
    for directory in directories where !directory.entries.isEmpty {
      for entry in directory.entries {
        let path = Self.join(directory.path, entry.name)
        inodeOffsets[path] = Superblock.encodedSize + writer.bytes.count
        entryCount += 1
        let type = entry.mode & 0o170000
        var size = UInt32(entry.content.count)
        var offset = 0
        if type == 0o040000 {
          size = UInt32(entryBytes(of: entry.children))
          offset = directoryOffsets[path] ?? 0
        } else if type == 0o100000 || type == 0o120000 {
          offset = tableOffsets[path] ?? 0
        } else if type == 0o020000 || type == 0o060000 {
          size = entry.rdev
        }
        let inode = Inode(
          mode: entry.mode, uid: entry.uid, size: size, gid: entry.gid, nameWords: UInt8(Self.padded(entry.name.count) / 4),
          offsetWords: UInt32(offset / 4))
        inode.encode(into: &writer)
        writer.append(contentsOf: entry.name)
        writer.pad(toMultipleOf: 4)
      }
    }
    bytes += writer.bytes + data.bytes
    let total = (bytes.count + blockSize - 1) / blockSize * blockSize
    bytes += [UInt8](repeating: 0, count: total - bytes.count)
    let rootInode = Inode(
      mode: 0o040755, uid: 0, size: UInt32(entryBytes(of: root)), gid: 0, nameWords: 0,
      offsetWords: root.isEmpty ? 0 : UInt32(Superblock.encodedSize / 4))
    inodeOffsets["/"] = 64
    let superblock = Superblock(
      size: UInt32(total), flags: flags, fsid: FilesystemID(blocks: UInt32(blockTotal), files: UInt32(entryCount + 1)), root: rootInode)
    bytes.replaceSubrange(0..<Superblock.encodedSize, with: superblock.encoded(byteOrder: order))
    fixCRC()
  }

  static func padded(_ count: Int) -> Int { (count + 3) / 4 * 4 }

  static func join(_ parent: String, _ name: [UInt8]) -> String {
    (parent == "/" ? "" : parent) + "/" + String(decoding: name, as: UTF8.self)
  }

  /// Recomputes `fsid.crc` (so that only structural checks can find a corruption).
  mutating func fixCRC() {
    Self.fixCRC(&bytes, order: order)
  }

  static func fixCRC(_ bytes: inout [UInt8], order: ByteOrder, superblockOffset: Int = 0) {
    let start = superblockOffset
    guard bytes.count >= start + Superblock.encodedSize else { return }
    let size = bytes.withUnsafeBytes { Int(order.decode($0.loadUnaligned(fromByteOffset: start + 4, as: UInt32.self))) }
    guard size <= bytes.count, size >= start + Superblock.encodedSize else { return }
    for index in 0..<4 { bytes[start + 32 + index] = 0 }
    let crc = bytes.withUnsafeBytes { crc32Checksum(UnsafeRawBufferPointer(rebasing: $0[start..<size])) }
    var writer = ByteWriter(byteOrder: order)
    writer.append(crc)
    bytes.replaceSubrange((start + 32)..<(start + 36), with: writer.bytes)
  }

  func word(at offset: Int) -> UInt32 {
    bytes.withUnsafeBytes { order.decode($0.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
  }

  mutating func setWord(_ value: UInt32, at offset: Int) {
    var writer = ByteWriter(byteOrder: order)
    writer.append(value)
    bytes.replaceSubrange(offset..<(offset + 4), with: writer.bytes)
  }

  func inode(at offset: Int) -> Inode {
    bytes.withUnsafeBytes { try! Inode(decoding: ByteView($0, byteOrder: order), at: offset) }
  }

  /// Rewrites the inode at `offset` (fields are masked to their widths).
  mutating func updateInode(at offset: Int, _ change: (inout Inode) -> Void) {
    var inode = inode(at: offset)
    change(&inode)
    var writer = ByteWriter(byteOrder: order)
    inode.encode(into: &writer)
    bytes.replaceSubrange(offset..<(offset + 12), with: writer.bytes)
  }

  /// The image with `change` applied and the CRC recomputed.
  func mutated(_ change: (inout HandImage) -> Void) -> [UInt8] {
    var copy = self
    change(&copy)
    copy.fixCRC()
    return copy.bytes
  }
}
