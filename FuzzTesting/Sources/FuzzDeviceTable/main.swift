import Cramfs
import FuzzSupport

/// Parses the input as a device table (`mkfs.cramfs -D`), expands its series and applies it to an empty
/// tree. Thrown errors are the expected outcome for most inputs; a trap or a hang is a bug.
@_cdecl("FuzzDeviceTable_main")
public func fuzzDeviceTableMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
  runFuzzer(argc: argc, argv: argv) { start, count in
    guard let start else { return 0 }
    return fuzzDeviceTable(start, count)
  }
}

/// Expanding a series costs one entry per device; tables above this many are parsed but not applied, so
/// that one execution stays fast (the parser's own limit is ``DeviceTable/maxCount`` per line).
private let maxAppliedEntries = 4096

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDeviceTable(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
  let bytes = UnsafeBufferPointer(start: start, count: count)
  guard let table = try? DeviceTable(parsing: bytes, source: "fuzz") else { return 0 }
  var entries = 0
  for line in table.lines {
    guard line.count <= DeviceTable.maxCount else {
      fatalError("line \(line.number): series of \(line.count) passed the parser's limit \(DeviceTable.maxCount)")
    }
    entries += max(1, Int(line.count))
  }
  guard entries <= maxAppliedEntries else { return 0 }
  for line in table.lines {
    let expanded = line.expanded
    guard expanded.count == max(1, Int(line.count)) else {
      fatalError("line \(line.number): \(expanded.count) entries for a series of \(line.count)")
    }
  }
  var assembler = TreeAssembler(options: BuildOptions())
  var tree = assembler.finish()
  try? tree.apply(table)
  return 0
}
