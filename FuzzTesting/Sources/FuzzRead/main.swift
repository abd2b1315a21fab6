import Cramfs
import FuzzSupport

/// Opens the input as an image and reads everything reachable: stat, listings, links, file data,
/// mappings' predictions. Any trap is a bug; thrown errors are the expected outcome for most inputs.
@_cdecl("FuzzRead_main")
public func fuzzReadMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
  runFuzzer(argc: argc, argv: argv) { start, count in
    guard let start else { return 0 }
    return fuzzRead(start, count)
  }
}

// libFuzzer calls this for each input (its own main is replaced by `FuzzRead_main` above, which SwiftPM
// links as the executable's entry point).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRead(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
  let bytes = UnsafeBufferPointer(start: start, count: count)
  guard let image = try? CramfsImage(bytes: bytes) else { return 0 }
  var budget = 2000
  var bytesLeft = maxBytesReadPerInput
  try? image.walk { (path, node) throws(CramfsError) in
    budget -= 1
    guard budget > 0 else { throw CramfsError(.corrupted, "budget") }
    _ = image.stat(node)
    switch node.type {
    case .regular:
      readFile(node, of: image, bytesLeft: &bytesLeft)
      _ = try? XIPAnalysis.analyze(node, path: path, in: image)
    case .symlink:
      _ = try? image.readlink(node)
    default:
      break
    }
  }
  _ = image.checksum()
  return 0
}

/// What one input may read in all. A 64 KiB image can claim files of 16 MiB each (holes, shared blocks);
/// reading all of that would spend each execution zeroing fresh memory instead of exercising the reader.
private let maxBytesReadPerInput = 4 << 20
private let chunkSize = 64 << 10
nonisolated(unsafe) private let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)

/// Reads a file the way a user of the library would: small files whole, larger ones in chunks (each block
/// on its own path through the reader), until its end, the first error or the input's budget.
private func readFile(_ node: Node, of image: CramfsImage, bytesLeft: inout Int) {
  let size = Int(node.inode.size)
  guard bytesLeft > 0 else { return }
  if size <= 2 * chunkSize {
    bytesLeft -= size
    _ = try? image.contents(of: node)
    return
  }
  var offset = 0
  while offset < size, bytesLeft > 0 {
    guard let read = try? image.read(node, offset: offset, into: chunk), read > 0 else { return }
    offset += read
    bytesLeft -= read
  }
}
