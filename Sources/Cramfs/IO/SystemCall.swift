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
///     guard fchmod(fd.rawValue, 0o644) == 0 else { throw SystemCall.error("cannot finish \(path)", path: path) }
///     // CramfsError(.io, "cannot finish out.img: Operation not permitted", path: "out.img")
///
/// swift-system's `FileDescriptor` methods throw an `Errno` instead; `error(_:thrown:path:)` gives the
/// same message for it.
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

  /// The error number of an error thrown by a swift-system call (`FileDescriptor`'s methods throw `Errno`);
  /// `EIO` for anything else, which they do not throw.
  package static func code(of error: any Error) -> Int32 { (error as? Errno)?.rawValue ?? EIO }

  /// `CramfsError(.io, "<what>: <reason>", path: path)` for an error thrown by a swift-system call:
  /// the same message as `error(_:errno:path:)` gives for the C call it wraps.
  package static func error(_ what: String, thrown error: any Error, path: String? = nil) -> CramfsError {
    self.error(what, errno: code(of: error), path: path)
  }
}
