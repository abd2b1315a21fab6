/// What an image is built from: a host directory (``DirectoryInput``), a tar archive (``TarArchiveInput``),
/// or anything else that can list entries and read their data.
///
///     let input = try ImageInputs.detect("rootfs.tar.zst")   // chosen by content, not by name
///     try ImageBuilder.build(from: input, to: "rootfs.cramfs", options: BuildOptions())
///
/// The builder asks for the tree once, before it writes anything; each file's ``EntryContent`` may then
/// be read several times (deduplication compares contents, XIP reads ELF headers, compression reads blocks).
public protocol ImageInput {
  /// Reads every entry into a tree, checking what the format cannot hold (names over 252 bytes, files of
  /// 16 MiB or more, symlink targets of a block or more).
  ///
  /// - Parameters:
  ///   - options: the build's options (owners squashed or forced, the block size for the symlink limit).
  ///   - scratchDirectory: the directory the image is written to; an input that must keep data
  ///     aside (a tar stream) puts its temporary file there, never anywhere else.
  /// - Throws: `CramfsError` naming the entry.
  func readTree(options: BuildOptions, scratchDirectory: String) throws(CramfsError) -> SourceTree
}

/// The bytes of a regular file in a ``SourceTree``, opened for each pass the builder makes over them.
public protocol EntryContent: Sendable {
  /// Opens the content for reading. The reader is dropped at the end of each pass, so an implementation
  /// may hold a descriptor in it without running out of them on large trees.
  func open() throws(CramfsError) -> any ContentReader
}

/// An open ``EntryContent``; workers read from it concurrently.
public protocol ContentReader: Sendable {
  /// Fills `buffer` with the bytes at `offset` (the range lies within the entry's `dataSize`).
  func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws(CramfsError)
}

/// A host directory, read with `lstat` (today's `cramfs make DIR IMAGE`).
public struct DirectoryInput: ImageInput {
  /// The directory; a symlink to one is followed for the root only, as `mkfs.cramfs` does.
  public var path: String

  public init(path: String) { self.path = path }

  /// Scans the directory (``SourceTree/scan(_:options:)``); nothing is kept aside.
  public func readTree(options: BuildOptions, scratchDirectory: String) throws(CramfsError)
    -> SourceTree
  {
    try SourceTree.scan(path, options: options)
  }
}
