/// The one error type of the cramfs library.
///
/// It says what went wrong (`code`, `message`) and, where known, where: the byte `offset` in the image
/// and the `path` of the entry involved.
///
///     do { _ = try CramfsImage(path: "fw.img") }
///     catch { print(error) }   // "bad magic 0x12345678 at offset 0x0"
public struct CramfsError: Error, Hashable, Sendable, CustomStringConvertible {
  /// The kind of failure. Extensible: new codes can be added without breaking callers.
  public struct Code: Hashable, Sendable, CustomStringConvertible {
    public let name: String
    public init(_ name: String) { self.name = name }
    public var description: String { name }

    /// No cramfs magic at offset 0 or 512.
    public static let badMagic = Code("badMagic")
    /// The magic is there, byte-swapped: the image is for a CPU of the other byte order.
    public static let wrongByteOrder = Code("wrongByteOrder")
    /// A structure runs past the end of the image.
    public static let truncated = Code("truncated")
    /// Flags or features this reader does not know.
    public static let unsupportedFeature = Code("unsupportedFeature")
    /// A structure violates the format's rules.
    public static let corrupted = Code("corrupted")
    /// An offset or length points outside the image.
    public static let outOfBounds = Code("outOfBounds")
    /// A block failed to decompress or decompressed to the wrong length.
    public static let compression = Code("compression")
    /// A system call failed.
    public static let io = Code("io")
    /// The input breaks a limit of the cramfs format (file too large, name too long, ...).
    public static let limitExceeded = Code("limitExceeded")
    /// A path does not name an entry of the image.
    public static let notFound = Code("notFound")
    /// An operation was applied to an entry of the wrong type.
    public static let wrongType = Code("wrongType")
    /// A caller-supplied option or argument is invalid.
    public static let invalidArgument = Code("invalidArgument")
    /// The image's block size is not recorded and its data fits several sizes that read it differently:
    /// the caller must give it.
    public static let ambiguousBlockSize = Code("ambiguousBlockSize")
    /// Extraction refused to write outside its target directory.
    public static let unsafePath = Code("unsafePath")
    /// The extraction target exists and is not empty, and overwriting was not asked for.
    public static let targetNotEmpty = Code("targetNotEmpty")
    /// A build produced warnings and was asked to treat them as errors.
    public static let warningsAreErrors = Code("warningsAreErrors")
  }

  public var code: Code
  public var message: String
  /// Byte offset in the image, when the error concerns one place.
  public var offset: Int?
  /// Path of the entry (inside the image or on the host), when known.
  public var path: String?

  public init(_ code: Code, _ message: String, offset: Int? = nil, path: String? = nil) {
    self.code = code
    self.message = message
    self.offset = offset
    self.path = path
  }

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
