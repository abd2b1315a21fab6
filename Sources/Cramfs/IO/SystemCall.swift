#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import SystemPackage

/// The one place where a failed system call becomes words: its `errno` text, or a `CramfsError`.
///
/// A C call reports failure as -1 with `errno` set (a few, like the shims and libfuse, return the negated
/// error number instead). The caller names the operation; this adds the system's reason:
///
///     guard ftruncate(fd, off_t(length)) == 0 else { throw SystemCall.error("cannot size \(path)", path: path) }
///     // CramfsError(.io, "cannot size out.img: No space left on device", path: "out.img")
///
/// The library, the tools and the FUSE file system all go through it (hence `package`), so every message
/// about a failed call has the same shape.
package enum SystemCall {
  /// The system's text for the error number `code`: "No such file or directory" for `ENOENT`.
  ///
  /// The text is `strerror`'s, through swift-system's `Errno`. Read it right after the failed call:
  /// `code` defaults to the current `errno`, which the next call may change.
  package static func text(_ code: Int32 = errno) -> String { Errno(rawValue: code).description }

  /// `CramfsError(.io, "<what>: <reason>", path: path)` for a call that just failed.
  ///
  /// - Parameters:
  ///   - what: the operation and its object, as the message begins ("cannot stat /src/a").
  ///   - code: the error number; defaults to the current `errno`. Pass `-result` for a call that returns
  ///     a negated error number.
  ///   - path: the host path concerned, when there is one.
  package static func error(_ what: String, errno code: Int32 = errno, path: String? = nil) -> CramfsError {
    CramfsError(.io, "\(what): \(text(code))", path: path)
  }
}
