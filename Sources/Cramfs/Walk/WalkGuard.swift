/// The one rule that keeps a walk of a hostile image finite: which directories a walk may read.
///
/// The kernel (fs/cramfs/inode.c) reads a directory when it is listed and has no guard of its own: a
/// directory whose entries are its ancestor's is an endless tree to `find`. A walk of the whole tree
/// therefore refuses:
/// - the entries of a directory already read (a loop, or two directories sharing entries);
/// - entries that lie outside the image;
/// - more bytes of entries, all directories together, than the image holds (only overlapping
///   directories can claim that much; this bounds the work on images full of them);
/// - a path longer than ``maxPathLength`` bytes, which bounds the depth (each level adds at least two
///   bytes), the memory held by paths and the time spent building them.
///
/// A directory without entries (size or offset 0: the kernel gives it no size) is never refused.
struct WalkGuard {
  /// The longest path (`/a/b`, names as stored) whose directory a walk enters.
  static let maxPathLength = 16384

  /// Why a directory's entries are not read.
  enum Refusal: Equatable {
    /// They were read before, for the directory the walk read `first` (counting from 0).
    case alreadyWalked(first: Int)
    /// They lie (partly) outside the image.
    case outOfRange
    /// With them, the entries of all directories come to more bytes than the image holds.
    case overlap
  }

  /// Bytes of the image: entries must lie inside it, and all directories' entries fit in it.
  let imageSize: Int
  /// The number of each directory read so far, by the offset of its entries.
  private var walked: [Int: Int] = [:]
  private var walkedBytes = 0

  init(imageSize: Int) { self.imageSize = imageSize }

  /// Whether a walk enters a directory whose path is `pathLength` bytes long.
  static func mayEnter(pathLength: Int) -> Bool { pathLength <= maxPathLength }

  /// Records the directory whose `size` bytes of entries start at `start` as read (it gets the next
  /// number), or says why they must not be read.
  mutating func admit(start: Int, size: Int) -> Refusal? {
    if let first = walked[start] { return .alreadyWalked(first: first) }
    guard start >= 0, size >= 0, start <= imageSize, size <= imageSize - start else { return .outOfRange }
    walkedBytes += size
    guard walkedBytes <= imageSize else { return .overlap }
    walked[start] = walked.count
    return nil
  }
}
