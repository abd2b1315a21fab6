/// The one error type of the cramfs library.
///
/// It says what went wrong (`code`, `message`) and, where known, where: the byte `offset` in the image
/// and the `path` of the entry involved.
///
///     do { _ = try CramfsImage(path: "fw.img") }
///     catch { print(error) }   // "no cramfs magic at offset 0 or 512 (found 0x12345678 at 0) (at 0x0)"
public struct CramfsError: Error, Hashable, Sendable, CustomStringConvertible {
  /// The kind of failure: a closed set, so callers can match on it (`error.code == .io`); only the library
  /// creates codes. New cases may be added: switch over codes with a `default` branch.
  public enum Code: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// No cramfs magic at offset 0 or 512.
    case badMagic
    /// The magic is there, byte-swapped: the image is for a CPU of the other byte order.
    case wrongByteOrder
    /// A structure runs past the end of the image.
    case truncated
    /// Flags or features this reader does not know.
    case unsupportedFeature
    /// A structure violates the format's rules.
    case corrupted
    /// An offset or length points outside the image.
    case outOfBounds
    /// A block failed to decompress or decompressed to the wrong length.
    case compression
    /// A system call failed.
    case io
    /// The input breaks a limit of the cramfs format (file too large, name too long, ...).
    case limitExceeded
    /// A path does not name an entry of the image.
    case notFound
    /// An operation was applied to an entry of the wrong type.
    case wrongType
    /// A caller-supplied option or argument is invalid.
    case invalidArgument
    /// The image's block size is not recorded and its data fits several sizes that read it differently:
    /// the caller must give it.
    case ambiguousBlockSize
    /// Extraction refused to write outside its target directory.
    case unsafePath
    /// The extraction target exists and is not empty, and overwriting was not asked for.
    case targetNotEmpty
    /// A build produced warnings and was asked to treat them as errors.
    case warningsAreErrors

    /// The case's name (`badMagic`), as messages and logs show it.
    public var description: String { rawValue }
  }

  /// What kind of failure this is.
  public var code: Code
  /// What went wrong, in one line, without the offset and path (``description`` adds them).
  public var message: String
  /// Byte offset in the image, when the error concerns one place.
  public var offset: Int?
  /// Path of the entry (inside the image or on the host), when known.
  public var path: String?

  /// An error of kind `code`, and where known its offset in the image and the path involved.
  public init(_ code: Code, _ message: String, offset: Int? = nil, path: String? = nil) {
    self.code = code
    self.message = message
    self.offset = offset
    self.path = path
  }

  /// `message (at 0x…, in /path)`: the message, then the offset and path when known.
  public var description: String {
    var text = message
    if let offset { text += " (at 0x\(String(offset, radix: 16))" + (path.map { ", in \($0)" } ?? "") + ")" }
    else if let path { text += " (in \(path))" }
    return text
  }

  /// Returns a copy that names `path`, unless a path is already set.
  public func inPath(_ path: String) -> CramfsError {
    var copy = self
    if copy.path == nil { copy.path = path }
    return copy
  }
}
