#if canImport(Glibc)
  import Glibc
#endif
import struct SystemPackage.FileDescriptor
import CCramfsShims
import Synchronization

/// A regular file of an image mapped into memory the way the kernel maps it from flash.
///
///     let mapping = try FileMapping(image: image, node: try image.lookup("/bin/busybox"))
///     let elfMagic = mapping.bytes.prefix(4)   // touching a page fills it on demand
///
/// The direct prefix (pages stored uncompressed, page aligned and contiguous: what the kernel would map
/// from flash) is mapped straight from the image file: zero copy, shared with its page cache. The rest is
/// anonymous memory filled on first touch through `userfaultfd` by decompressing the block, or filled
/// eagerly when `userfaultfd` is refused (or `lazy` is false). Read-only by default; `writable` gives a
/// private copy-on-write mapping, which the kernel cannot offer.
///
/// A fault is answered with its own page first, so the touching thread goes on at once. A fault that
/// follows a filled page (sequential access) also has worker threads fill a window of the pages after it,
/// 64 KiB at first and doubling up to 4 MiB while the access stays sequential; a fault anywhere else fills
/// its page alone and drops the read-ahead not yet started. Pages far from any touch stay unfilled.
///
/// A block that fails to decompress while the mapping is filled on demand reads as zeros and is recorded
/// in ``fillErrors``: a fault must be resolved, or the touching thread would wait forever.
public final class FileMapping: @unchecked Sendable {
  /// How the non-direct part is filled.
  public enum FillMode: String, Sendable, Codable {
    case onDemand
    case eager
  }

  /// The start of the mapping; `length` bytes are the file, the rest up to a page boundary zeros.
  public let address: UnsafeMutableRawPointer
  /// The file's size.
  public let length: Int
  /// The size of the mapping: the file rounded up to whole image pages.
  public let mappedLength: Int
  public let pageSize: Int
  /// Pages mapped straight from the image file.
  public let directPages: Int
  public let fillMode: FillMode
  public let isWritable: Bool

  private let source: PageSource
  private var handler: FaultHandler?

  /// The file's bytes.
  public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: address, count: length) }
  /// Pages filled by decompression so far (on demand or eagerly), read-ahead included; a failed block's
  /// page (zeros) counts too.
  public var pagesFilled: Int { source.filled.load(ordering: .relaxed) }
  /// Blocks read from the image to fill pages so far (decompressed, or copied when stored uncompressed),
  /// failed ones included: the work spent, where ``pagesFilled`` is the result. Each page is filled once,
  /// so the two differ only while a read-ahead is under way or when the system refused a copy.
  public var blocksDecompressed: Int { source.decompressed.load(ordering: .relaxed) }
  /// Blocks that failed to decompress while filling on demand.
  public var fillErrors: [CramfsError] { source.errors.withLock { $0 } }

  /// Waits until no read-ahead is queued or being filled, so that the counters stay still until the next
  /// touch. Returns at once for an eager mapping.
  public func waitUntilIdle() {
    guard let handler else { return }
    while !handler.isIdle { usleep(100) }
  }

  /// Maps the regular file `node` of `image`.
  ///
  /// - Parameters:
  ///   - image: the image the file is in.
  ///   - node: the file (a non-empty regular file).
  ///   - writable: a private, copy-on-write mapping instead of a read-only one.
  ///   - lazy: fill non-direct pages on first touch (`userfaultfd`) when the system allows it.
  /// - Throws: `CramfsError/Code/wrongType` for anything but a non-empty regular file, an I/O error if the
  ///   memory cannot be mapped, a decoding error if an eager fill meets a corrupt block.
  public init(image: CramfsImage, node: Node, writable: Bool = false, lazy: Bool = true) throws(CramfsError) {
    guard node.type == .regular, node.inode.size > 0 else {
      throw CramfsError(.wrongType, "only a non-empty regular file can be mapped", offset: node.entryOffset, path: node.nameString)
    }
    let pageSize = image.blockSize
    guard pageSize % Int(sysconf(Int32(_SC_PAGESIZE))) == 0 else {
      throw CramfsError(.invalidArgument, "the image's page size \(pageSize) is not a multiple of this machine's")
    }
    source = PageSource(image: image, node: node)
    self.pageSize = pageSize
    length = Int(node.inode.size)
    mappedLength = (length + pageSize - 1) / pageSize * pageSize
    isWritable = writable
    let protection = PROT_READ | (writable ? PROT_WRITE : 0)

    guard let region = mmap(nil, mappedLength, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
      region != MAP_FAILED
    else { throw SystemCall.error("cannot reserve \(mappedLength) bytes of address space") }
    address = region

    // The direct prefix, by the kernel's rules, with the image's position in its file as the base.
    var direct = 0
    if let file = image.backingFile {
      let verdict = try XIPAnalysis.analyze(node, path: node.nameString, in: image, physicalBase: UInt64(file.imageOffset))
      if verdict.directPages > 0, let offset = verdict.directOffset {
        if let fd = try? FileDescriptor.open(path: file.path, .readOnly, options: .closeOnExec) {
          let flags = MAP_FIXED | (writable ? MAP_PRIVATE : MAP_SHARED)
          // No mmap in swift-system: the raw descriptor, which the mapping does not need kept open.
          let mapped = mmap(region, verdict.directPages * pageSize, protection, flags, fd.rawValue, off_t(file.imageOffset + offset))
          try? fd.close()
          if mapped == region { direct = verdict.directPages }
        }
      }
    }
    directPages = direct

    let restStart = region + direct * pageSize
    let restLength = mappedLength - direct * pageSize
    var mode = FillMode.eager
    if restLength > 0, lazy,
      let handler = FaultHandler(base: region, firstPage: direct, pageCount: mappedLength / pageSize, source: source)
    {
      // Started before any access, so that no fault goes unanswered; without a thread, filled eagerly.
      if handler.start() {
        mode = .onDemand
        self.handler = handler
      } else {
        handler.stop()
      }
    }
    fillMode = mode
    if restLength > 0, mode == .eager {
      do {
        for block in direct..<(mappedLength / pageSize) {
          try source.read(block: block, into: region + block * pageSize)
          source.filled.add(1, ordering: .relaxed)
        }
      } catch {
        munmap(region, mappedLength)
        throw error
      }
    }
    if restLength > 0, !writable { mprotect(restStart, restLength, PROT_READ) }
  }

  deinit {
    handler?.stop()
    munmap(address, mappedLength)
  }
}

extension CramfsImage {
  /// The file an image was opened from and where in it the image starts, when it came from a file.
  var backingFile: (path: String, imageOffset: Int)? {
    guard let path = storage.path, let base = storage.bytes.baseAddress, let start = view.bytes.baseAddress else { return nil }
    return (path, start - base)
  }
}
