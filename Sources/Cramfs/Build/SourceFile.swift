#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import Synchronization
import struct SystemPackage.FileDescriptor

/// An open regular file read with `pread` (so a file that shrinks while we read it is an error, not a SIGBUS).
///
/// Immutable after creation: workers read from it concurrently; the descriptor closes with the last reference.
final class SourceFile: ContentReader, @unchecked Sendable {
  let descriptor: FileDescriptor
  let path: String
  let size: Int

  /// Opens the host file at `pathBytes` and checks that it still has the size the scan saw.
  init(pathBytes: [UInt8], size: Int) throws(CramfsError) {
    let path = String(decoding: pathBytes, as: UTF8.self)
    self.path = path
    self.size = size
    descriptor = try FileDescriptor.open(
      pathBytes: pathBytes, .readOnly, options: [.closeOnExec, .noFollow], path: path, orThrow: "cannot open \(path)")
    let length: Int64
    do {
      length = try descriptor.stat().size
    } catch {
      throw SystemCall.error("cannot stat \(path)", errno: error.rawValue, path: path)
    }
    guard Int(length) == size else {
      throw CramfsError(
        .io,
        "\(path) changed size while the image was built (\(size) -> \(length) bytes)",
        path: path)
    }
  }

  deinit { try? descriptor.close() }

  /// Fills `buffer` with the bytes at `offset`.
  func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws(CramfsError) {
    var done = 0
    while done < buffer.count {
      let count: Int
      do {
        // Retried on EINTR by swift-system; throws only on failure.
        count = try descriptor.read(
          fromAbsoluteOffset: Int64(offset + done), into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]))
      } catch {
        throw SystemCall.error("cannot read \(path)", thrown: error, path: path)
      }
      guard count > 0 else {
        throw CramfsError(.io, "\(path) became shorter while the image was built", path: path)
      }
      done += count
    }
  }
}

/// A host file found by the directory scan: opened (and its size checked again) for each pass.
struct HostFileContent: EntryContent {
  var pathBytes: [UInt8]
  var size: Int

  func open() throws(CramfsError) -> any ContentReader {
    try SourceFile(pathBytes: pathBytes, size: size)
  }
}

/// Where a data item's bytes come from.
enum DataSource: Sendable {
  case reader(any ContentReader)
  case bytes([UInt8])

  /// Opens the entry's data: its symlink target, or its content.
  init(entry: SourceEntry) throws(CramfsError) {
    if let target = entry.linkTarget {
      self = .bytes(target)
    } else if let content = entry.content {
      self = .reader(try content.open())
    } else {
      throw CramfsError(.io, "\(entry.path) has no data to read", path: entry.path)
    }
  }

  /// Copies `[offset, offset + buffer.count)` into `buffer`.
  func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws(CramfsError) {
    switch self {
    case .reader(let reader):
      try reader.read(at: offset, into: buffer)
    case .bytes(let bytes):
      bytes.withUnsafeBytes { source in
        buffer.copyMemory(
          from: UnsafeRawBufferPointer(rebasing: source[offset..<(offset + buffer.count)]))
      }
    }
  }
}

/// Finds entries whose data can be shared with an earlier entry.
///
/// Only entries with the same type, mode, stored uid and stored gid share data: the kernel derives the
/// inode number from the data offset, so sharing across them would give one entry the other's type or owner
/// (`mkfs.cramfs` does; this is the fix). The target is the first identical entry in depth-first order,
/// as `mkfs.cramfs`'s `find_identical_file` picks it, so trees without such cross cases give its bytes.
enum Deduplicator {
  private struct Key: Hashable {
    var mode: UInt16
    var uid: UInt16
    var gid: UInt8
    var size: Int
  }

  /// For each entry, the index of the earlier entry whose data it shares, or nil.
  ///
  /// Groups of candidates (same type, mode, owner and size) are independent, so they are hashed and
  /// compared on `threads` threads; each group's answer depends only on its own members, so the result is
  /// the same for every thread count.
  static func findDuplicates(in tree: SourceTree, threads: Int = 1) throws(CramfsError) -> [Int?] {
    var groups: [Key: [Int]] = [:]
    for (index, entry) in tree.entries.enumerated()
    where (entry.type == .regular || entry.type == .symlink) && entry.dataSize > 0 {
      groups[
        Key(mode: entry.mode, uid: entry.storedUID, gid: entry.storedGID, size: entry.dataSize),
        default: []
      ]
      .append(index)
    }
    // Members are in tree order already; groups in the order of their first member.
    let candidates = groups.values.filter { $0.count > 1 }.sorted { $0[0] < $1[0] }
    let answers = Mutex<[Int: Result<[(Int, Int)], CramfsError>]>([:])
    Threads.parallelFor(count: candidates.count, threads: threads, name: "cramfs-dedup") { _, group in
      let answer = Result { () throws(CramfsError) in try matches(in: candidates[group], tree: tree) }
      answers.withLock { $0[group] = answer }
    }
    var duplicateOf = [Int?](repeating: nil, count: tree.entries.count)
    let collected = answers.withLock { $0 }
    for group in candidates.indices {
      // The first failing group in tree order is the one reported, whatever the thread count.
      for (index, target) in try collected[group]!.get() { duplicateOf[index] = target }
    }
    return duplicateOf
  }

  /// The (entry, earlier identical entry) pairs among `members` (one candidate group, in tree order).
  private static func matches(in members: [Int], tree: SourceTree) throws(CramfsError) -> [(Int, Int)] {
    // Most files of equal size differ in their first bytes: a hash of those splits the group cheaply, and
    // only what still collides is hashed whole. Order within a bucket stays tree order, so a duplicate
    // still points at the first identical entry.
    var buckets: [UInt32: [Int]] = [:]
    var bucketOrder: [UInt32] = []
    for index in members {
      let hash = try checksum(tree.entries[index], prefix: prefixLength)
      if buckets[hash] == nil { bucketOrder.append(hash) }
      buckets[hash, default: []].append(index)
    }
    var pairs: [(Int, Int)] = []
    for hash in bucketOrder {
      guard let bucket = buckets[hash], bucket.count > 1 else { continue }
      var originals: [UInt32: [Int]] = [:]
      for index in bucket {
        let entry = tree.entries[index]
        let hash = entry.dataSize <= prefixLength ? hash : try checksum(entry, prefix: entry.dataSize)
        var target: Int?
        for candidate in originals[hash, default: []]
        where try sameContent(tree.entries[candidate], entry) {
          target = candidate
          break
        }
        if let target {
          pairs.append((index, target))
        } else {
          originals[hash, default: []].append(index)
        }
      }
    }
    return pairs
  }

  /// Bytes hashed to split a candidate group before whole files are.
  private static let prefixLength = 4096

  private static let chunkSize = DataSource.chunkSize

  /// CRC-32 of the entry's first `prefix` bytes (all of them if it is shorter).
  private static func checksum(_ entry: SourceEntry, prefix: Int) throws(CramfsError) -> UInt32 {
    let source = try DataSource(entry: entry)
    var crc: UInt32 = 0
    try source.forEachChunk(size: min(prefix, entry.dataSize)) { chunk in
      crc = crc32Checksum(chunk, continuing: crc)
    }
    return crc
  }

  private static func sameContent(_ a: SourceEntry, _ b: SourceEntry) throws(CramfsError) -> Bool {
    let sourceA = try DataSource(entry: a)
    let sourceB = try DataSource(entry: b)
    let buffer = UnsafeMutableRawBufferPointer.allocate(
      byteCount: min(chunkSize, b.dataSize), alignment: 16)
    defer { buffer.deallocate() }
    var offset = 0
    var equal = true
    try sourceA.forEachChunk(size: a.dataSize) { chunk throws(CramfsError) in
      guard equal else { return }
      let other = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<chunk.count])
      try sourceB.read(at: offset, into: other)
      equal = memcmp(chunk.baseAddress!, other.baseAddress!, chunk.count) == 0
      offset += chunk.count
    }
    return equal
  }
}

extension DataSource {
  /// Bytes read at a time when a source is streamed.
  static let chunkSize = 1 << 20

  /// Calls `body` with the source's first `size` bytes, a chunk at a time, through one reused buffer.
  func forEachChunk(size: Int, _ body: (UnsafeRawBufferPointer) throws(CramfsError) -> Void) throws(CramfsError) {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, min(Self.chunkSize, size)), alignment: 16)
    defer { buffer.deallocate() }
    var offset = 0
    while offset < size {
      let count = min(Self.chunkSize, size - offset)
      let chunk = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count])
      try read(at: offset, into: chunk)
      try body(UnsafeRawBufferPointer(chunk))
      offset += count
    }
  }
}
