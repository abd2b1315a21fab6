extension Diagnostic {
  /// The kind of problem a ``Diagnostic`` reports.
  ///
  /// The raw value is a stable kebab-case name (`crc-mismatch`): it is what `Codable` and the tools' JSON
  /// output write, and what ``description`` prints, so scripts can match on it.
  ///
  ///     if report.codes.contains(.crcMismatch) { print("stale or damaged image") }
  ///
  /// New cases may be added as the checker learns new rules; switch over codes with a `default` branch.
  public enum Code: String, Sendable, Codable, Hashable, CaseIterable, CustomStringConvertible {
    // MARK: Superblock

    /// No cramfs magic at offset 0 or 512 (in either byte order): not a cramfs image, the kernel refuses it.
    case badMagic = "bad-magic"
    /// The file ends before the superblock, or before the size the superblock records: the kernel refuses
    /// to mount it, or fails reads past the end.
    case truncated
    /// The image is in the other byte order than the one asked for: a kernel of that order refuses it
    /// ("wrong endianness").
    case wrongByteOrder = "wrong-byte-order"
    /// The superblock sets flags the kernel does not know: it refuses to mount ("unsupported filesystem
    /// features").
    case unsupportedFlags = "unsupported-flags"
    /// The superblock's size field is smaller than the superblock itself.
    case badSize = "bad-size"
    /// The file is longer than the size the superblock records; the kernel ignores the extra bytes.
    case trailingData = "trailing-data"
    /// `fsid.files` is zero, which no builder writes (it counts the root).
    case zeroFileCount = "zero-file-count"
    /// `FSID_VERSION_2` is not set (an old-format image): size, file counts and CRC cannot be checked.
    case oldFormat = "old-format"
    /// The signature is not "Compressed ROMFS" and the `WRONG_SIGNATURE` flag is not set.
    case badSignature = "bad-signature"
    /// The root inode is not a directory: the kernel refuses to mount.
    case rootNotDirectory = "root-not-directory"
    /// The root's offset is neither just after the superblock (0x4c or 0x24c) nor allowed by
    /// `SHIFTED_ROOT_OFFSET`: the kernel refuses to mount.
    case badRootOffset = "bad-root-offset"
    /// No block size fits all of the data; the image is checked with the size that leaves the fewest problems.
    case blockSizeDamaged = "block-size-damaged"
    /// The block size is not recorded and the data fits several sizes that read it differently; the
    /// check used the one with the fewest errors (on extraction: a file that is not written).
    case ambiguousBlockSize = "ambiguous-block-size"
    /// The CRC stored in the superblock does not match the image's bytes (`fsck.cramfs` fails; the kernel
    /// does not check it).
    case crcMismatch = "crc-mismatch"
    /// `fsid.files` differs from the number of inodes in the image (statfs reports the stored value).
    case fsidFilesMismatch = "fsid-files-mismatch"
    /// `fsid.blocks` differs from the number of blocks the files hold (statfs reports the stored value).
    case fsidBlocksMismatch = "fsid-blocks-mismatch"

    // MARK: Directories and names

    /// An entry with contents (a non-empty directory or file, or a symlink) has a zero offset: the kernel
    /// would read its contents from the start of the image.
    case zeroOffset = "zero-offset"
    /// A directory's entries are those of one of its ancestors: a naive walk never ends.
    case directoryLoop = "directory-loop"
    /// Two directories share the same entries (the kernel shows the same children under both).
    case sharedDirectory = "shared-directory"
    /// A directory's entries lie outside the image.
    case directoryOutOfRange = "directory-out-of-range"
    /// Directories overlap each other.
    case directoryOverlap = "directory-overlap"
    /// An entry, or its name, runs past the end of its directory's entries.
    case entryPastDirectoryEnd = "entry-past-directory-end"
    /// Two entries of one directory have the same name: the kernel's lookup finds only one of them.
    case duplicateName = "duplicate-name"
    /// Entries are out of order in an image flagged `SORTED_DIRS`: the kernel's lookup stops early and
    /// misses entries.
    case unsortedEntries = "unsorted-entries"
    /// An entry has an empty name.
    case emptyName = "empty-name"
    /// An entry is named `.` or `..`.
    case dotName = "dot-name"
    /// A name contains `/`: it cannot be a file name (and could escape on extraction).
    case slashInName = "slash-in-name"
    /// A name contains a NUL byte before its end: the kernel and tools see a shorter name.
    case nulInName = "nul-in-name"
    /// A name is followed by more than 3 NUL bytes, more than padding to 4 bytes needs.
    case badNamePadding = "bad-name-padding"
    /// The mode's file type is none the kernel knows.
    case badMode = "bad-mode"
    /// A path is longer than `PATH_MAX`: the entry is not walked (or extracted) further.
    case pathTooLong = "path-too-long"
    /// A device, fifo or socket has a non-zero offset, which no builder writes.
    case specialWithOffset = "special-with-offset"
    /// A fifo or socket has a non-zero size, which no builder writes.
    case specialWithSize = "special-with-size"
    /// A device number uses bits above 16, which the kernel's `old_decode_dev` ignores.
    case deviceNumberBits = "device-number-bits"
    /// File data starts inside the superblock.
    case dataBeforeDirectories = "data-before-directories"
    /// The directory area does not end where file data starts, as `fsck.cramfs` requires.
    case directoryDataGap = "directory-data-gap"

    // MARK: File data

    /// A symlink has a size of zero.
    case emptySymlink = "empty-symlink"
    /// A symlink's target is longer than one page minus its NUL: the kernel cuts it short.
    case symlinkTooLong = "symlink-too-long"
    /// A symlink's target contains a NUL byte (or, on extraction, is empty): the kernel sees a shorter target.
    case nulInSymlink = "nul-in-symlink"
    /// A file has a zero size but a non-zero offset, which no builder writes.
    case zeroSizeWithOffset = "zero-size-with-offset"
    /// A file's block pointer table runs past the end of the image.
    case pointerTableOutOfRange = "pointer-table-out-of-range"
    /// Files share data but have different sizes: the kernel shows one inode for both.
    case sharedDataSize = "shared-data-size"
    /// Files share data but differ in type, mode or owner: the kernel shows whichever is looked up first.
    case sharedDataAttributes = "shared-data-attributes"
    /// A block pointer has the direct or uncompressed flag but the superblock lacks `EXT_BLOCK_POINTERS`:
    /// kernels since 4.15 honour the flags, older kernels and the fsck tools do not.
    case pointerFlagsWithoutExt = "pointer-flags-without-ext"
    /// A block lies outside the image.
    case blockOutOfRange = "block-out-of-range"
    /// A block's stored or inflated length is not what the file's size implies: the kernel fails the read.
    case badBlockLength = "bad-block-length"
    /// A block does not decompress: the kernel fails the read.
    case decompressionFailed = "decompression-failed"
    /// A block is a hole but the superblock lacks the `HOLES` flag.
    case holeWithoutFlag = "hole-without-flag"
    /// The last block is stored direct and uncompressed at full size: the kernel's `read()` returns zeros
    /// for it, while `mmap` shows the data.
    case directLastBlockReadsAsZeros = "direct-last-block-reads-as-zeros"
    /// A structure overlaps the superblock.
    case superblockOverlap = "superblock-overlap"
    /// A directory's entries overlap file data.
    case directoryFileOverlap = "directory-file-overlap"
    /// File data overlaps other file data, or adds up to more than the image holds.
    case dataOverlap = "data-overlap"

    // MARK: Extraction

    /// Extraction refused to write through a symlink or over an existing entry.
    case unsafePath = "unsafe-path"
    /// A symlink's target cannot be read, so the symlink was not created.
    case badSymlink = "bad-symlink"
    /// A file's block cannot be read; it was written as zeros.
    case badBlock = "bad-block"
    /// A device node was not created: that needs root.
    case deviceSkipped = "device-skipped"
    /// A system call on the host failed (see ``ExtractReport/hasHostFailures``); the problem is the host's,
    /// not the image's.
    case ioError = "io-error"

    /// The kebab-case name (the raw value), as JSON shows it.
    public var description: String { rawValue }
  }
}
