import CFuse
import Cramfs

#if canImport(Glibc)
  import Glibc
#endif

extension Operations {
  static func open(_ request: fuse_req_t?, _ id: fuse_ino_t, _ info: UnsafeMutablePointer<fuse_file_info>?) {
    guard let context = FUSEContext.of(request), let info else { return replyError(request, EIO) }
    // The kernel itself refuses writes on the read-only mount, and read finds the entry from its id.
    if context.skipsFileOpens { return replyError(request, ENOSYS) }
    guard info.pointee.flags & O_ACCMODE == O_RDONLY, info.pointee.flags & O_TRUNC == 0 else {
      return replyError(request, EROFS)
    }
    do {
      let node = try context.fileSystem.node(for: id)
      guard node.type == .regular || node.type == .symlink else { return replyError(request, EINVAL) }
      OpenHandle(node: node, listing: nil).attach(to: info)
      CFuse_markCacheable(info, 0)
      if fuse_reply_open(request, info) != 0 { OpenHandle.release(info) }
    } catch {
      replyError(request, error)
    }
  }

  static func read(
    _ request: fuse_req_t?, _ id: fuse_ino_t, _ size: Int, _ offset: off_t, _ info: UnsafeMutablePointer<fuse_file_info>?
  ) {
    guard let context = FUSEContext.of(request) else { return replyError(request, EBADF) }
    // Without opens (zero-message opens) there is no handle: the id names the entry.
    let node: Node
    if let handle = OpenHandle.borrow(info) {
      node = handle.node
    } else {
      do {
        node = try context.fileSystem.node(for: id)
      } catch {
        return replyError(request, error)
      }
    }
    // A first read: queue the files after this one before serving it, so the two overlap.
    if offset == 0 { context.prefetcher.reading(id, node) }
    context.buffers.withBuffer(replyCount: size) { reply, scratch in
      do {
        let count = try context.fileSystem.read(node, offset: Int(offset), count: size, into: reply, scratch: scratch)
        fuse_reply_buf(request, reply.assumingMemoryBound(to: CChar.self), count)
      } catch {
        let path = context.fileSystem.path(of: id)
        writeLogLine("error", "read of \(path) at offset \(offset) (\(size) bytes) failed: \(error)")
        fuse_reply_err(request, EIO)
      }
    }
  }
}
