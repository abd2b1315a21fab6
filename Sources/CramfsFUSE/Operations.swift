import CFuse
import Cramfs

#if canImport(Glibc)
  import Glibc
#endif

/// The libfuse low-level operations table for a read-only cramfs.
enum Operations {
  /// The table handed to `fuse_session_new`.
  static func table() -> fuse_lowlevel_ops {
    var ops = fuse_lowlevel_ops()
    ops.`init` = { userData, connection in
      guard let connection, let userData else { return }
      Operations.negotiate(connection, Unmanaged<FUSEContext>.fromOpaque(userData).takeUnretainedValue())
    }
    ops.lookup = { request, parent, name in Operations.lookup(request, parent, name) }
    ops.getattr = { request, id, _ in Operations.getattr(request, id) }
    ops.readlink = { request, id in Operations.readlink(request, id) }
    ops.open = { request, id, info in Operations.open(request, id, info) }
    ops.read = { request, id, size, offset, info in Operations.read(request, id, size, offset, info) }
    ops.release = { request, _, info in
      OpenHandle.release(info)
      fuse_reply_err(request, 0)
    }
    ops.opendir = { request, id, info in Operations.opendir(request, id, info) }
    ops.readdir = { request, id, size, offset, info in Operations.readdir(request, id, size, offset, info, plus: false) }
    ops.readdirplus = { request, id, size, offset, info in Operations.readdir(request, id, size, offset, info, plus: true) }
    ops.releasedir = { request, _, info in
      OpenHandle.release(info)
      fuse_reply_err(request, 0)
    }
    ops.statfs = { request, _ in Operations.statfs(request) }
    ops.forget = { request, _, _ in fuse_reply_none(request) }
    ops.forget_multi = { request, _, _ in fuse_reply_none(request) }
    installReadOnlyReplies(&ops)
    return ops
  }

  /// Asks the kernel to cache for long, to send large reads, and to skip messages the image does not need.
  private static func negotiate(_ connection: UnsafeMutablePointer<fuse_conn_info>, _ context: FUSEContext) {
    let capable = connection.pointee.capable
    let wanted = UInt32(FUSE_CAP_CACHE_SYMLINKS) | UInt32(FUSE_CAP_READDIRPLUS) | UInt32(FUSE_CAP_ASYNC_READ)
      | UInt32(FUSE_CAP_PARALLEL_DIROPS)
    connection.pointee.want |= wanted & capable
    // READDIRPLUS always, not the kernel's guess (plus for the first chunk only, unless asked again): an
    // entry costs a few bytes more here, where a plain READDIR chunk costs a LOOKUP for each entry a
    // stat or an open then needs.
    connection.pointee.want &= ~UInt32(FUSE_CAP_READDIRPLUS_AUTO)
    // Cached pages stay valid: nothing changes underneath.
    connection.pointee.want &= ~UInt32(FUSE_CAP_AUTO_INVAL_DATA)
    // libfuse turns splice reads on because write_buf exists (for EROFS); a read-only mount gets no writes,
    // and splicing costs every other request an extra system call (splice into a pipe, then read).
    connection.pointee.want &= ~UInt32(FUSE_CAP_SPLICE_READ)
    // Zero-message opens (Linux 4.19+ for files, 5.1+ for directories): once open answers ENOSYS, the kernel
    // sends no more OPEN or RELEASE (OPENDIR, RELEASEDIR) and keeps cached pages and listings, as
    // keep_cache and cache_readdir would. Two round trips fewer for every file read.
    context.skipsFileOpens = capable & UInt32(FUSE_CAP_NO_OPEN_SUPPORT) != 0
    context.skipsDirectoryOpens = capable & UInt32(FUSE_CAP_NO_OPENDIR_SUPPORT) != 0
    // libfuse derives the kernel's max_pages (the largest read) from max_write.
    connection.pointee.max_write = UInt32(FUSESession.maxRequest)
    connection.pointee.max_background = 64
    connection.pointee.congestion_threshold = 48
  }

  private static func lookup(_ request: fuse_req_t?, _ parent: fuse_ino_t, _ name: UnsafePointer<CChar>?) {
    guard let context = FUSEContext.of(request), let name else { return replyError(request, EINVAL) }
    let length = strlen(name)
    guard length <= CramfsFileSystem.maxNameLength else { return replyError(request, ENAMETOOLONG) }
    do {
      let found = try context.fileSystem.lookup(parent: parent, name: UnsafeRawBufferPointer(start: name, count: length))
      var entry = context.entry(found)
      fuse_reply_entry(request, &entry)
    } catch {
      replyError(request, error)
    }
  }

  private static func getattr(_ request: fuse_req_t?, _ id: fuse_ino_t) {
    guard let context = FUSEContext.of(request) else { return replyError(request, EIO) }
    do {
      var attributes = context.attributes(try context.fileSystem.node(for: id))
      fuse_reply_attr(request, &attributes, context.timeout)
    } catch {
      replyError(request, error)
    }
  }

  private static func readlink(_ request: fuse_req_t?, _ id: fuse_ino_t) {
    guard let context = FUSEContext.of(request) else { return replyError(request, EIO) }
    do {
      let node = try context.fileSystem.node(for: id)
      var target = try context.fileSystem.image.readlink(node)
      // The kernel keeps a page minus one byte of a target (and FUSE no more than PATH_MAX with its NUL).
      let limit = min(Inode.maxSymlinkTargetLength(pageSize: context.fileSystem.image.blockSize), Int(PATH_MAX) - 1)
      if target.count > limit { target.removeLast(target.count - limit) }
      target.append(0)
      target.withUnsafeBytes { bytes in
        _ = fuse_reply_readlink(request, bytes.baseAddress?.assumingMemoryBound(to: CChar.self))
      }
    } catch {
      replyError(request, error)
    }
  }

  private static func statfs(_ request: fuse_req_t?) {
    guard let context = FUSEContext.of(request) else { return replyError(request, EIO) }
    let image = context.fileSystem.image
    var info = statvfs()
    info.f_bsize = UInt(image.blockSize)
    info.f_frsize = UInt(image.blockSize)
    info.f_blocks = fsblkcnt_t(image.superblock.fsid.blocks)
    info.f_files = fsfilcnt_t(image.superblock.fsid.files)
    info.f_namemax = UInt(CramfsFileSystem.maxNameLength)
    fuse_reply_statfs(request, &info)
  }

  static func replyError(_ request: fuse_req_t?, _ code: Int32) {
    fuse_reply_err(request, code)
  }

  static func replyError(_ request: fuse_req_t?, _ error: any Error) {
    fuse_reply_err(request, (error as? CramfsError)?.errnoValue ?? EIO)
  }
}
