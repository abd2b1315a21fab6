import Cramfs
import Synchronization

/// The FUSE view of an image, without FUSE: node ids, cached directory listings, lookups and reads
/// through a shared block cache. ``FUSESession`` wires it to libfuse; tests use it directly.
///
///     let fs = CramfsFileSystem(image: try CramfsImage(path: "fw.img"))
///     let etc = try fs.lookup(parent: CramfsFileSystem.rootID, name: Array("etc".utf8))
///
/// Node ids identify entries, not kernel inodes: two entries that share data (and so a kernel inode
/// number) get different ids. The id of an entry is its byte offset + 1; the root's is 1 (`FUSE_ROOT_ID`).
public final class CramfsFileSystem: Sendable {
  /// The root's node id (`FUSE_ROOT_ID`).
  public static let rootID: UInt64 = 1
  /// The longest name cramfs stores (`f_namemax`).
  public static let maxNameLength = Inode.maxNameLength
  /// Entries kept in cached listings before the listing cache starts over (bounds memory on hostile images).
  static let maxCachedEntries = 1 << 20

  public let image: CramfsImage
  let cache: BlockCache
  private let listings = Mutex<ListingCache>(ListingCache())

  /// - Parameter cacheBytes: memory for decompressed blocks shared by all readers.
  public init(image: CramfsImage, cacheBytes: Int = 32 << 20) {
    self.image = image
    cache = BlockCache(capacityBytes: cacheBytes, blockSize: image.blockSize)
  }

  /// The node id of `node`.
  public func nodeID(of node: Node) -> UInt64 {
    node.isRoot ? Self.rootID : UInt64(node.entryOffset) + 1
  }

  /// The entry a node id stands for.
  ///
  /// - Throws: ``CramfsError`` if `id` does not decode as an entry (ids come only from this object).
  public func node(for id: UInt64) throws(CramfsError) -> Node {
    if id == Self.rootID { return image.root }
    guard id > 1, id - 1 < UInt64(image.view.count) else {
      throw CramfsError(.invalidArgument, "node id \(id) is not an entry of this image")
    }
    return Node(entry: try DirectoryEntry(decoding: image.view, at: Int(id - 1)))
  }

  /// The entries of the directory `id`, cached after the first call; also remembers each child's parent.
  public func listing(of id: UInt64) throws(CramfsError) -> DirectoryListing {
    if let cached = listings.withLock({ $0.listings[id] }) { return cached }
    let directory = try node(for: id)
    let listing = DirectoryListing(nodes: try image.children(of: directory))
    listings.withLock { cache in
      if cache.entryCount + listing.nodes.count > Self.maxCachedEntries { cache = ListingCache() }
      cache.listings[id] = listing
      cache.entryCount += listing.nodes.count
      for child in listing.nodes where child.type == .directory || cache.parents.count < Self.maxCachedEntries {
        cache.parents[nodeID(of: child)] = id
      }
    }
    return listing
  }

  /// The entries of the directory `id` if ``listing(of:)`` has cached them (reads nothing from the image).
  func cachedListing(of id: UInt64) -> DirectoryListing? {
    listings.withLock { $0.listings[id] }
  }

  /// The child of directory `parent` named `name`, or nil.
  public func lookup(parent: UInt64, name: UnsafeRawBufferPointer) throws(CramfsError) -> Node? {
    try listing(of: parent).find(name)
  }

  /// The parent's node id of `id`, when a listing that holds `id` was read (the root is its own parent).
  public func parentID(of id: UInt64) -> UInt64? {
    id == Self.rootID ? Self.rootID : listings.withLock { $0.parents[id] }
  }

  /// The path of `id` inside the image, as far as known (for log lines).
  public func path(of id: UInt64) -> String {
    var components: [String] = []
    var current = id
    while current != Self.rootID, components.count < 4096 {
      guard let node = try? node(for: current) else { break }
      components.append(node.nameString)
      guard let parent = parentID(of: current) else {
        components.append("...")
        break
      }
      current = parent
    }
    return "/" + components.reversed().joined(separator: "/")
  }
}

/// Cached listings and the parents they reveal.
private struct ListingCache {
  var listings: [UInt64: DirectoryListing] = [:]
  var parents: [UInt64: UInt64] = [:]
  var entryCount = 0
}

/// A directory's entries in image order, searchable by name.
public final class DirectoryListing: Sendable {
  /// The entries, in image order (no `.` or `..`: cramfs stores none).
  public let nodes: [Node]
  /// Whether names are in strictly increasing byte order, so lookups can bisect.
  let isSorted: Bool

  init(nodes: [Node]) {
    self.nodes = nodes
    isSorted = zip(nodes, nodes.dropFirst()).allSatisfy { $0.name.lexicographicallyPrecedes($1.name) }
  }

  /// The entry named `name`, or nil.
  public func find(_ name: UnsafeRawBufferPointer) -> Node? {
    index(of: name).map { nodes[$0] }
  }

  /// Where `node` sits in ``nodes``, or nil if it is not an entry of this directory.
  func position(of node: Node) -> Int? {
    guard let index = node.name.withUnsafeBytes({ index(of: $0) }), nodes[index].entryOffset == node.entryOffset else {
      return nodes.firstIndex { $0.entryOffset == node.entryOffset }
    }
    return index
  }

  /// The index of an entry named `name`, or nil.
  private func index(of name: UnsafeRawBufferPointer) -> Int? {
    guard isSorted else { return nodes.firstIndex { $0.name.elementsEqual(name) } }
    var low = 0
    var high = nodes.count
    while low < high {
      let middle = (low + high) / 2
      let candidate = nodes[middle].name
      if candidate.elementsEqual(name) { return middle }
      if candidate.lexicographicallyPrecedes(name) { low = middle + 1 } else { high = middle }
    }
    return nil
  }
}
