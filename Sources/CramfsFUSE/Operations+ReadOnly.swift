import CFuse

#if canImport(Glibc)
  import Glibc
#endif

extension Operations {
  /// Every operation that would change the file system answers EROFS (the mount is also `ro`).
  static func installReadOnlyReplies(_ ops: inout fuse_lowlevel_ops) {
    ops.setattr = { request, _, _, _, _ in fuse_reply_err(request, EROFS) }
    ops.mknod = { request, _, _, _, _ in fuse_reply_err(request, EROFS) }
    ops.mkdir = { request, _, _, _ in fuse_reply_err(request, EROFS) }
    ops.unlink = { request, _, _ in fuse_reply_err(request, EROFS) }
    ops.rmdir = { request, _, _ in fuse_reply_err(request, EROFS) }
    ops.symlink = { request, _, _, _ in fuse_reply_err(request, EROFS) }
    ops.rename = { request, _, _, _, _, _ in fuse_reply_err(request, EROFS) }
    ops.link = { request, _, _, _ in fuse_reply_err(request, EROFS) }
    ops.write = { request, _, _, _, _, _ in fuse_reply_err(request, EROFS) }
    ops.write_buf = { request, _, _, _, _ in fuse_reply_err(request, EROFS) }
    ops.create = { request, _, _, _, _ in fuse_reply_err(request, EROFS) }
    ops.setxattr = { request, _, _, _, _, _ in fuse_reply_err(request, EROFS) }
    ops.removexattr = { request, _, _ in fuse_reply_err(request, EROFS) }
    ops.fallocate = { request, _, _, _, _, _ in fuse_reply_err(request, EROFS) }
    ops.copy_file_range = { request, _, _, _, _, _, _, _, _ in fuse_reply_err(request, EROFS) }
  }
}
