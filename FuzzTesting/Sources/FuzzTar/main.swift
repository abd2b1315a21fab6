import Cramfs
import FuzzSupport

/// Reads the input as a tar archive (through a file, as `cramfs make archive.tar image` does) into a tree;
/// when the tree is small, builds an image from it and checks the image. Thrown errors are the expected
/// outcome for most inputs; a trap, a hang, or an image the builder made that the checker finds broken is a bug.
@_cdecl("FuzzTar_main")
public func fuzzTarMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
  runFuzzer(argc: argc, argv: argv) { start, count in
    guard let start else { return 0 }
    return fuzzTar(start, count)
  }
}

/// Trees above these are read but not built, so that one execution stays fast.
private let maxBuiltEntries = 200
private let maxBuiltBytes = 1 << 20

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTar(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
  let archive = "\(scratchDirectory)/input.tar"
  let image = "\(scratchDirectory)/image"
  writeScratchFile(archive, UnsafeBufferPointer(start: start, count: count))
  var options = BuildOptions()
  options.jobs = 1
  let input = TarArchiveInput(path: archive)
  guard let tree = try? input.readTree(options: options, scratchDirectory: scratchDirectory) else { return 0 }
  guard tree.entries.count <= maxBuiltEntries,
    tree.entries.reduce(0, { $0 + $1.dataSize }) <= maxBuiltBytes
  else { return 0 }
  removeScratchFile(image)
  defer { removeScratchFile(image) }
  guard (try? ImageBuilder.build(from: input, to: image, options: options)) != nil else { return 0 }
  let report: CheckReport
  do {
    report = try ImageChecker.check(path: image)
  } catch {
    fatalError("the image built from the archive cannot be checked: \(error)")
  }
  guard report.isClean else {
    fatalError("the image built from the archive has errors: \(report.errors.map(\.description))")
  }
  return 0
}
