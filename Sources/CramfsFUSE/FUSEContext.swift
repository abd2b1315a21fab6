import CFuse
import Cramfs
import Synchronization

/// What every request handler needs: the file system, reply buffers and cache timeouts.
final class FUSEContext: Sendable {
  let fileSystem: CramfsFileSystem
  let buffers: BufferPool
  /// Seconds the kernel may keep entries and attributes (the image never changes).
  let timeout: Double
  /// The largest read the kernel is told it may send.
  let maxRead: Int
  private let openFlags = Atomic<UInt8>(0)

  /// Whether open answers ENOSYS, so the kernel opens files without asking (set at FUSE init).
  var skipsFileOpens: Bool {
    get { openFlags.load(ordering: .relaxed) & 1 != 0 }
    set { set(bit: 1, newValue) }
  }

  /// Whether opendir answers ENOSYS, so the kernel opens directories without asking (set at FUSE init).
  var skipsDirectoryOpens: Bool {
    get { openFlags.load(ordering: .relaxed) & 2 != 0 }
    set { set(bit: 2, newValue) }
  }

  private func set(bit: UInt8, _ on: Bool) {
    if on { openFlags.bitwiseOr(bit, ordering: .relaxed) } else { openFlags.bitwiseAnd(~bit, ordering: .relaxed) }
  }

  /// Stores files ahead of a reader into the kernel's page cache.
  let prefetcher: Prefetcher

  init(fileSystem: CramfsFileSystem, timeout: Double, maxRead: Int, prefetchBytes: Int = 0) {
    self.fileSystem = fileSystem
    self.timeout = timeout
    self.maxRead = maxRead
    buffers = BufferPool(replyCapacity: maxRead, blockSize: fileSystem.image.blockSize)
    prefetcher = Prefetcher(fileSystem: fileSystem, buffers: buffers, budgetBytes: prefetchBytes, maxFileBytes: maxRead)
  }

  /// The context a request belongs to (the session's user data).
  static func of(_ request: fuse_req_t?) -> FUSEContext? {
    guard let pointer = fuse_req_userdata(request) else { return nil }
    return Unmanaged<FUSEContext>.fromOpaque(pointer).takeUnretainedValue()
  }

  /// The kernel's attributes of `node`.
  func attributes(_ node: Node) -> stat {
    fileSystem.image.stat(node).systemStat(blockSize: fileSystem.image.blockSize)
  }

  /// A lookup reply for `node` (nil: a negative entry the kernel may cache).
  func entry(_ node: Node?) -> fuse_entry_param {
    var entry = fuse_entry_param()
    entry.entry_timeout = timeout
    if let node {
      entry.ino = fileSystem.nodeID(of: node)
      entry.attr = attributes(node)
      entry.attr_timeout = timeout
    }
    return entry
  }
}

/// An open file or directory, kept in `fuse_file_info.fh` as a retained reference.
final class OpenHandle: Sendable {
  let node: Node
  /// The listing, for directories.
  let listing: DirectoryListing?

  init(node: Node, listing: DirectoryListing?) {
    self.node = node
    self.listing = listing
  }

  /// Stores a retained reference in `info.fh`.
  func attach(to info: UnsafeMutablePointer<fuse_file_info>) {
    info.pointee.fh = UInt64(UInt(bitPattern: Unmanaged.passRetained(self).toOpaque()))
  }

  /// The handle stored in `info.fh`, still retained.
  static func borrow(_ info: UnsafeMutablePointer<fuse_file_info>?) -> OpenHandle? {
    guard let info, let pointer = UnsafeRawPointer(bitPattern: UInt(info.pointee.fh)) else { return nil }
    return Unmanaged<OpenHandle>.fromOpaque(pointer).takeUnretainedValue()
  }

  /// Releases the reference stored in `info.fh`.
  static func release(_ info: UnsafeMutablePointer<fuse_file_info>?) {
    guard let info, let pointer = UnsafeRawPointer(bitPattern: UInt(info.pointee.fh)) else { return }
    Unmanaged<OpenHandle>.fromOpaque(pointer).release()
    info.pointee.fh = 0
  }
}
