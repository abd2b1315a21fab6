#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import struct SystemPackage.FileDescriptor

/// Chooses the ``ImageInput`` for a command-line argument by what it is, never by its name.
public enum ImageInputs {
  /// `-` is a tar stream on standard input; a directory is a ``DirectoryInput``; a file that starts with
  /// the cramfs magic (at 0 or 512, either byte order) is a ``CramfsImageInput``; any other file, pipe or device is
  /// a tar archive (plain or compressed), which libarchive recognizes or refuses by content.
  ///
  /// With an `imageOffset`, the argument must be a file holding a cramfs image at that offset.
  ///
  /// - Throws: `CramfsError/Code/io` when `argument` cannot be found or read.
  public static func detect(_ argument: String, imageOffset: Int = 0) throws(CramfsError) -> any ImageInput {
    if imageOffset != 0 { return CramfsImageInput(path: argument, offset: imageOffset) }
    if argument == "-" { return TarArchiveInput(path: nil) }
    var info = stat()
    guard stat(argument, &info) == 0 else {
      throw SystemCall.error("cannot stat \(argument)", path: argument)
    }
    switch info.st_mode & S_IFMT {
    case S_IFDIR:
      return DirectoryInput(path: argument)
    case S_IFREG:
      if try startsWithCramfsMagic(argument) { return CramfsImageInput(path: argument) }
      return TarArchiveInput(path: argument)
    default:
      return TarArchiveInput(path: argument)
    }
  }

  /// Whether the file has the cramfs magic in either byte order at offset 0 or 512 (after a pad), and is
  /// not a tar archive.
  static func startsWithCramfsMagic(_ path: String) throws(CramfsError) -> Bool {
    let fd = try FileDescriptor.open(path: path, .readOnly, options: .closeOnExec, orThrow: "cannot open \(path)")
    defer { try? fd.close() }
    var head = [UInt8](repeating: 0, count: Superblock.padSize + 4)
    let count: Int
    do {
      count = try head.withUnsafeMutableBytes { try fd.read(fromAbsoluteOffset: 0, into: $0) }
    } catch {
      throw SystemCall.error("cannot read \(path)", thrown: error, path: path)
    }
    func hasMagic(at offset: Int) -> Bool {
      guard offset + 4 <= count else { return false }
      let word = head[offset..<offset + 4].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
      return word == Superblock.magic || word.byteSwapped == Superblock.magic
    }
    // A tar header (`ustar` at 257) wins: a tar whose first file is an image has the magic at 512.
    if count >= 262, head[257..<262].elementsEqual("ustar".utf8) { return false }
    return hasMagic(at: 0) || hasMagic(at: Superblock.padSize)
  }
}
