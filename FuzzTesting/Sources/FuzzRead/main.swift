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
  try? image.walk { (path, node) throws(CramfsError) in
    budget -= 1
    guard budget > 0 else { throw CramfsError(.corrupted, "budget") }
    _ = image.stat(node)
    switch node.type {
    case .regular:
      _ = try? image.contents(of: node)
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
