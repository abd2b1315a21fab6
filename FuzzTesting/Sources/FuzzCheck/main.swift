import Cramfs
import FuzzSupport

/// Runs the full checker on the input. It must report, never trap or hang.
@_cdecl("FuzzCheck_main")
public func fuzzCheckMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
  runFuzzer(argc: argc, argv: argv) { start, count in
    guard let start else { return 0 }
    return fuzzCheck(start, count)
  }
}

// libFuzzer calls this for each input (its own main is replaced by `FuzzCheck_main` above, which SwiftPM
// links as the executable's entry point).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCheck(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
  _ = ImageChecker.check(bytes: UnsafeRawBufferPointer(start: start, count: count))
  return 0
}
