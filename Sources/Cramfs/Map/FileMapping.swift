#if canImport(Glibc)
  import Glibc
#endif
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

  private let image: CramfsImage
  private let node: Node
  private let filled = Atomic<Int>(0)
  private let decompressed = Atomic<Int>(0)
  private let errors = Mutex<[CramfsError]>([])
  private var handler: FaultHandler?

  /// The file's bytes.
  public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: address, count: length) }
  /// Pages filled by decompression so far (on demand or eagerly).
  public var pagesFilled: Int { filled.load(ordering: .relaxed) }
  /// Blocks read from the image to fill pages so far (decompressed, or copied when stored uncompressed),
  /// failed ones included: the work spent, where ``pagesFilled`` is the result.
  public var blocksDecompressed: Int { decompressed.load(ordering: .relaxed) }
  /// Blocks that failed to decompress while filling on demand.
  public var fillErrors: [CramfsError] { errors.withLock { $0 } }

  /// Maps the regular file `node` of `image`.
  ///
  /// - Parameters:
  ///   - writable: a private, copy-on-write mapping instead of a read-only one.
  ///   - lazy: fill non-direct pages on first touch (`userfaultfd`) when the system allows it.
  /// - Throws: ``CramfsError/Code/wrongType`` for anything but a non-empty regular file, an I/O error if the
  ///   memory cannot be mapped, a decoding error if an eager fill meets a corrupt block.
  public init(image: CramfsImage, node: Node, writable: Bool = false, lazy: Bool = true) throws(CramfsError) {
    guard node.type == .regular, node.inode.size > 0 else {
      throw CramfsError(.wrongType, "only a non-empty regular file can be mapped", offset: node.entryOffset, path: node.nameString)
    }
    let pageSize = image.blockSize
    guard pageSize % Int(sysconf(Int32(_SC_PAGESIZE))) == 0 else {
      throw CramfsError(.invalidArgument, "the image's page size \(pageSize) is not a multiple of this machine's")
    }
    self.image = image
    self.node = node
    self.pageSize = pageSize
    length = Int(node.inode.size)
    mappedLength = (length + pageSize - 1) / pageSize * pageSize
    isWritable = writable
    let protection = PROT_READ | (writable ? PROT_WRITE : 0)

    guard let region = mmap(nil, mappedLength, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
      region != MAP_FAILED
    else { throw CramfsError(.io, "cannot reserve \(mappedLength) bytes of address space: \(String(cString: strerror(errno)))") }
    address = region

    // The direct prefix, by the kernel's rules, with the image's position in its file as the base.
    var direct = 0
    if let file = image.backingFile {
      let verdict = try XIPAnalysis.analyze(node, path: node.nameString, in: image, physicalBase: UInt64(file.imageOffset))
      if verdict.directPages > 0, let offset = verdict.directOffset {
        let fd = open(file.path, O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
          let flags = MAP_FIXED | (writable ? MAP_PRIVATE : MAP_SHARED)
          let mapped = mmap(region, verdict.directPages * pageSize, protection, flags, fd, off_t(file.imageOffset + offset))
          close(fd)
          if mapped == region { direct = verdict.directPages }
        }
      }
    }
    directPages = direct

    let restStart = region + direct * pageSize
    let restLength = mappedLength - direct * pageSize
    var mode = FillMode.eager
    if restLength > 0, lazy, let handler = FaultHandler(start: restStart, length: restLength, pageSize: pageSize) {
      mode = .onDemand
      self.handler = handler
    }
    fillMode = mode
    if restLength > 0, mode == .eager {
      do {
        for block in direct..<(mappedLength / pageSize) { try fill(block: block, into: region + block * pageSize) }
      } catch {
        munmap(region, mappedLength)
        throw error
      }
      if !writable { mprotect(restStart, restLength, PROT_READ) }
    } else if restLength > 0 {
      if !writable { mprotect(restStart, restLength, PROT_READ) }
      handler?.start { [unowned self] faultAddress, scratch in self.resolve(faultAddress, scratch: scratch) }
    }
  }

  deinit {
    handler?.stop()
    munmap(address, mappedLength)
  }

  /// Decompresses block `index` into `destination` (a whole page, zero-padded past the file's end).
  private func fill(block index: Int, into destination: UnsafeMutableRawPointer) throws(CramfsError) {
    let page = UnsafeMutableRawBufferPointer(start: destination, count: pageSize)
    decompressed.add(1, ordering: .relaxed)
    let produced = try image.readBlock(node, block: index, into: page)
    if produced < pageSize { (destination + produced).initializeMemory(as: UInt8.self, repeating: 0, count: pageSize - produced) }
    filled.add(1, ordering: .relaxed)
  }

  /// Fills the page that holds `faultAddress` (called on the handler thread); returns the page to copy in.
  private func resolve(_ faultAddress: UnsafeMutableRawPointer, scratch: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer {
    let block = (faultAddress - address) / pageSize
    let page = address + block * pageSize
    do {
      try fill(block: block, into: scratch)
    } catch {
      scratch.initializeMemory(as: UInt8.self, repeating: 0, count: pageSize)
      errors.withLock { $0.append(error) }
    }
    return page
  }
}

extension CramfsImage {
  /// The file an image was opened from and where in it the image starts, when it came from a file.
  var backingFile: (path: String, imageOffset: Int)? {
    guard let path = storage.path, let base = storage.bytes.baseAddress, let start = view.bytes.baseAddress else { return nil }
    return (path, start - base)
  }
}

/// The thread that answers `userfaultfd` page faults for one mapping, one image page at a time.
final class FaultHandler: @unchecked Sendable {
  private let fd: Int32
  private let wake: (read: Int32, write: Int32)
  /// Bytes copied in per fault: one image page (a multiple of the machine's page).
  private let pageSize: Int
  private var thread: pthread_t?
  private var resolve: ((UnsafeMutableRawPointer, UnsafeMutableRawPointer) -> UnsafeMutableRawPointer)?

  /// Registers `[start, start + length)` (whole image pages); nil when the system refuses `userfaultfd`.
  init?(start: UnsafeMutableRawPointer, length: Int, pageSize: Int) {
    let fd = CCramfsShims_userfaultfd_open()
    guard fd >= 0 else { return nil }
    var pipeFds: [Int32] = [-1, -1]
    guard CCramfsShims_userfaultfd_register(fd, start, length) == 0, CCramfsShims_pipe_cloexec(&pipeFds) == 0 else {
      close(fd)
      return nil
    }
    self.fd = fd
    wake = (pipeFds[0], pipeFds[1])
    self.pageSize = pageSize
  }

  /// Starts answering faults: `resolve(faultAddress, scratch)` writes the image page into `scratch` and
  /// returns where that page belongs.
  func start(_ resolve: @escaping (UnsafeMutableRawPointer, UnsafeMutableRawPointer) -> UnsafeMutableRawPointer) {
    self.resolve = resolve
    var thread = pthread_t()
    let context = Unmanaged.passRetained(self).toOpaque()
    let status = pthread_create(&thread, nil, { context in
      let handler = Unmanaged<FaultHandler>.fromOpaque(context!).takeRetainedValue()
      handler.loop()
      return nil
    }, context)
    if status == 0 { self.thread = thread } else { Unmanaged<FaultHandler>.fromOpaque(context).release() }
  }

  private func loop() {
    guard let resolve else { return }
    let scratch = UnsafeMutableRawPointer.allocate(byteCount: pageSize, alignment: 4096)
    defer { scratch.deallocate() }
    while CCramfsShims_poll_two(fd, wake.read, -1) == 1 {
      var faultAddress: UInt64 = 0
      while CCramfsShims_userfaultfd_read_fault(fd, &faultAddress) == 1 {
        guard let pointer = UnsafeMutableRawPointer(bitPattern: UInt(faultAddress)) else { continue }
        let page = resolve(pointer, scratch)
        _ = CCramfsShims_userfaultfd_copy(fd, page, scratch, pageSize)
      }
    }
  }

  /// Stops the thread and closes the descriptors.
  func stop() {
    var byte: UInt8 = 1
    _ = write(wake.write, &byte, 1)
    if let thread { pthread_join(thread, nil) }
    close(fd)
    close(wake.read)
    close(wake.write)
  }
}
