#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// How two trees differ as a cramfs image would hold them: for each path, what differs.
///
///     let a = try ImageInputs.detect("old.cramfs").readTree(options: BuildOptions(), scratchDirectory: "/tmp")
///     let b = try ImageInputs.detect("new.tar.gz").readTree(options: BuildOptions(), scratchDirectory: "/tmp")
///     for difference in try TreeComparison.compare(a, b) { print(difference) }
///
/// Owners are compared as cramfs stores them (16-bit uid, 8-bit gid), device numbers as the kernel decodes
/// them, so a directory compares equal to the image built from it. Directory sizes are not compared (they
/// depend on the file system holding the tree).
public enum TreeComparison {
  /// One path that differs between the two trees.
  public struct Difference: Sendable, Hashable, CustomStringConvertible {
    public enum Aspect: String, Sendable, Hashable, CaseIterable {
      case onlyInFirst = "only in the first"
      case onlyInSecond = "only in the second"
      case type, mode, owner, size, device, target, content
    }

    /// The path in the image (`/` for the root, `/a/b` below it).
    public var path: String
    public var aspects: [Aspect]
    /// The differing values, first tree's first: `mode 0755 vs 0644; uid 0 vs 1000`.
    public var detail: String

    public var description: String { "\(path): " + (detail.isEmpty ? aspects.map(\.rawValue).joined(separator: ", ") : detail) }
  }

  /// Every path that differs, in path order (name bytes).
  ///
  /// - Throws: `CramfsError` when a file's content cannot be read.
  public static func compare(_ first: SourceTree, _ second: SourceTree) throws(CramfsError) -> [Difference] {
    let a = byPath(first)
    let b = byPath(second)
    var differences: [Difference] = []
    for path in Set(a.keys).union(b.keys).sorted(by: { $0.lexicographicallyPrecedes($1) }) {
      let display = path.isEmpty ? "/" : String(decoding: path, as: UTF8.self)
      switch (a[path], b[path]) {
      case (let x?, let y?):
        if let difference = try compare(first.entries[x], second.entries[y], path: display) { differences.append(difference) }
      case (.some, nil):
        differences.append(Difference(path: display, aspects: [.onlyInFirst], detail: "only in the first"))
      case (nil, .some):
        differences.append(Difference(path: display, aspects: [.onlyInSecond], detail: "only in the second"))
      case (nil, nil):
        break
      }
    }
    return differences
  }

  /// Entry index by image path (empty for the root, `/a/b` below it), from the tree's own structure.
  private static func byPath(_ tree: SourceTree) -> [[UInt8]: Int] {
    var paths: [[UInt8]: Int] = [:]
    guard !tree.entries.isEmpty else { return paths }
    var pending: [(Int, [UInt8])] = [(0, [])]
    while let (index, path) = pending.popLast() {
      paths[path] = index
      for child in tree.entries[index].children {
        pending.append((child, path + [UInt8(ascii: "/")] + tree.entries[child].name))
      }
    }
    return paths
  }

  private static func compare(_ x: SourceEntry, _ y: SourceEntry, path: String) throws(CramfsError) -> Difference? {
    var aspects: [Difference.Aspect] = []
    var details: [String] = []
    func differ(_ aspect: Difference.Aspect, _ detail: String) {
      aspects.append(aspect)
      details.append(detail)
    }
    guard x.type == y.type else {
      return Difference(path: path, aspects: [.type], detail: "type \(x.type) vs \(y.type)")
    }
    if x.mode & 0o7777 != y.mode & 0o7777 {
      differ(.mode, "mode \(octal(x.mode & 0o7777)) vs \(octal(y.mode & 0o7777))")
    }
    if x.storedUID != y.storedUID || x.storedGID != y.storedGID {
      differ(.owner, "owner \(x.storedUID):\(x.storedGID) vs \(y.storedUID):\(y.storedGID)")
    }
    switch x.type {
    case .regular, .symlink:
      if x.dataSize != y.dataSize { differ(.size, "size \(x.dataSize) vs \(y.dataSize)") }
    default:
      break
    }
    if x.type == .characterDevice || x.type == .blockDevice, stored(x.device) != stored(y.device) {
      differ(.device, "device \(stored(x.device)) vs \(stored(y.device))")
    }
    if x.type == .symlink, x.linkTarget != y.linkTarget {
      differ(.target, "target \(String(decoding: x.linkTarget ?? [], as: UTF8.self)) vs \(String(decoding: y.linkTarget ?? [], as: UTF8.self))")
    }
    if x.type == .regular, x.dataSize == y.dataSize, x.dataSize > 0, let a = x.content, let b = y.content,
      try !sameBytes(a, b, count: x.dataSize)
    {
      differ(.content, "content differs")
    }
    return aspects.isEmpty ? nil : Difference(path: path, aspects: aspects, detail: details.joined(separator: "; "))
  }

  /// The device number as an image holds it and the kernel shows it (8-bit major and minor).
  private static func stored(_ device: DeviceNumber?) -> String {
    guard let device else { return "-" }
    return "\(device.major & 0xFF):\(device.minor & 0xFF)"
  }

  private static func octal(_ value: UInt16) -> String {
    let digits = String(value, radix: 8)
    return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
  }

  /// Compares two contents chunk by chunk.
  private static func sameBytes(_ a: any EntryContent, _ b: any EntryContent, count: Int) throws(CramfsError) -> Bool {
    let chunk = 1 << 20
    let left = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
    defer { left.deallocate() }
    let right = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
    defer { right.deallocate() }
    let readerA = try a.open()
    let readerB = try b.open()
    var offset = 0
    while offset < count {
      let length = min(chunk, count - offset)
      try readerA.read(at: offset, into: UnsafeMutableRawBufferPointer(rebasing: left[0..<length]))
      try readerB.read(at: offset, into: UnsafeMutableRawBufferPointer(rebasing: right[0..<length]))
      guard memcmp(left.baseAddress!, right.baseAddress!, length) == 0 else { return false }
      offset += length
    }
    return true
  }
}
