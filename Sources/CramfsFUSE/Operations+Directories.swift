import CFuse
import Cramfs

#if canImport(Glibc)
  import Glibc
#endif

extension Operations {
  static func opendir(_ request: fuse_req_t?, _ id: fuse_ino_t, _ info: UnsafeMutablePointer<fuse_file_info>?) {
    guard let context = FUSEContext.of(request), let info else { return replyError(request, EIO) }
    if context.skipsDirectoryOpens { return replyError(request, ENOSYS) }
    do {
      let node = try context.fileSystem.node(for: id)
      guard node.type == .directory else { return replyError(request, ENOTDIR) }
      let listing = try context.fileSystem.listing(of: id)
      OpenHandle(node: node, listing: listing).attach(to: info)
      CFuse_markCacheable(info, 1)
      if fuse_reply_open(request, info) != 0 { OpenHandle.release(info) }
    } catch {
      replyError(request, error)
    }
  }

  /// Lists `.`, `..`, then the entries in image order. The offset of a position is its index + 1 in that
  /// sequence: the image never changes, so offsets stay valid across calls.
  static func readdir(
    _ request: fuse_req_t?, _ id: fuse_ino_t, _ size: Int, _ offset: off_t, _ info: UnsafeMutablePointer<fuse_file_info>?,
    plus: Bool
  ) {
    guard let context = FUSEContext.of(request) else { return replyError(request, EBADF) }
    let fileSystem = context.fileSystem
    // Without opens (zero-message opens) there is no handle: the id names the directory.
    let directory: Node
    let listing: DirectoryListing
    if let handle = OpenHandle.borrow(info), let handleListing = handle.listing {
      (directory, listing) = (handle.node, handleListing)
    } else {
      do {
        directory = try fileSystem.node(for: id)
        guard directory.type == .directory else { return replyError(request, ENOTDIR) }
        listing = try fileSystem.listing(of: id)
      } catch {
        return replyError(request, error)
      }
    }
    let parentNode = (fileSystem.parentID(of: id)).flatMap { try? fileSystem.node(for: $0) } ?? directory
    context.buffers.withBuffer(replyCount: size) { reply, _ in
      let buffer = reply.assumingMemoryBound(to: CChar.self)
      var used = 0
      var position = max(0, Int(offset))
      while position < listing.nodes.count + 2 {
        let node = position == 0 ? directory : position == 1 ? parentNode : listing.nodes[position - 2]
        let added = withUnsafeTemporaryAllocation(of: CChar.self, capacity: 256) { name -> Int in
          let bytes: [UInt8] = position == 0 ? [0x2E] : position == 1 ? [0x2E, 0x2E] : node.name
          let length = min(bytes.count, 255)
          for index in 0..<length { name[index] = CChar(bitPattern: bytes[index]) }
          name[length] = 0
          if plus {
            var entry = context.entry(node)
            if position < 2 { entry.ino = 0 }
            return fuse_add_direntry_plus(request, buffer + used, size - used, name.baseAddress, &entry, off_t(position + 1))
          }
          var attributes = context.attributes(node)
          return fuse_add_direntry(request, buffer + used, size - used, name.baseAddress, &attributes, off_t(position + 1))
        }
        if added > size - used { break }
        used += added
        position += 1
      }
      fuse_reply_buf(request, buffer, used)
      // The kernel now holds inodes for these entries: the prefetcher may store into them.
      if plus { context.prefetcher.listed(id, through: position - 2) }
    }
  }
}
