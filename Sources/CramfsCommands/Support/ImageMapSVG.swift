import Cramfs

/// Draws an ``ImageSpaceMap`` as an SVG picture: a horizontal strip from offset 0 to the image's end, each
/// pixel column stacked by the kinds of bytes it holds; the XIP area bracketed above it; one row per XIP
/// mapping class (whole, partial, none) marking where those files' bytes lie; a legend with the bytes and
/// share of each kind. Deterministic: the same map gives the same text.
struct ImageMapSVG {
  let map: ImageSpaceMap
  /// Shown in the title (the image's path).
  let title: String

  static let width = 1200
  static let left = 110
  static let stripWidth = 1000
  static let stripTop = 78
  static let stripHeight = 64
  static let rowHeight = 18

  static func color(_ kind: ImageSpaceMap.Kind) -> String {
    switch kind {
    case .bootPad: "#8c564b"
    case .superblock: "#d62728"
    case .insertedFile: "#e377c2"
    case .directories: "#ff7f0e"
    case .pointerTables: "#bcbd22"
    case .compressed: "#1f77b4"
    case .uncompressed: "#17becf"
    case .xipPages: "#2ca02c"
    case .padding: "#d0d0d0"
    }
  }

  static func color(_ mappingClass: MappingClass) -> String {
    switch mappingClass {
    case .whole: "#2ca02c"
    case .partial: "#e6ab02"
    case .none: "#7f7f7f"
    }
  }

  /// Whether anything in the image is mapped in place (then the XIP bracket and rows are drawn).
  private var hasXIP: Bool { map.xipArea != nil || map.files.contains { $0.mappingClass != .none } }

  var rendered: String {
    var body: [String] = []
    let classes: [MappingClass] = hasXIP ? [.whole, .partial, .none] : []
    let rowsTop = Self.stripTop + Self.stripHeight + 34
    let legendTop = rowsTop + classes.count * (Self.rowHeight + 6) + (classes.isEmpty ? 0 : 14)
    let kinds = ImageSpaceMap.Kind.allCases.filter { map.bytes(of: $0) > 0 }
    let legendRows = (kinds.count + 1) / 2 + 2
    let height = legendTop + legendRows * 20 + 16

    body.append(
      text(
        12, 24, "\(title): \(map.size) bytes (\(bytes(map.size))), block size \(map.blockSize)",
        size: 16, weight: "bold"))
    body.append(text(12, 44, "Image from offset 0 (left) to its end (right); each column stacked by what its bytes hold.", size: 12))
    body += strip()
    body += axis(top: Self.stripTop + Self.stripHeight)
    if let area = map.xipArea { body += bracket(area) }
    for (index, mappingClass) in classes.enumerated() {
      body += row(mappingClass, top: rowsTop + index * (Self.rowHeight + 6))
    }
    body += legend(kinds, top: legendTop)

    return """
      <?xml version="1.0" encoding="UTF-8"?>
      <svg xmlns="http://www.w3.org/2000/svg" width="\(Self.width)" height="\(height)" viewBox="0 0 \(Self.width) \(height)" \
      font-family="DejaVu Sans, Helvetica, Arial, sans-serif" data-image-size="\(map.size)">
      <rect width="100%" height="100%" fill="#ffffff"/>
      \(body.joined(separator: "\n"))
      </svg>

      """
  }

  // MARK: - Main strip

  /// Bytes of each kind in each pixel column.
  private func columns() -> [[ImageSpaceMap.Kind: Int]] {
    var columns = [[ImageSpaceMap.Kind: Int]](repeating: [:], count: Self.stripWidth)
    guard map.size > 0 else { return columns }
    for region in map.regions {
      var start = region.start
      while start < region.end {
        let column = min(Self.stripWidth - 1, start * Self.stripWidth / map.size)
        let columnEnd = (column + 1) * map.size / Self.stripWidth
        let end = min(region.end, max(columnEnd, start + 1))
        columns[column][region.kind, default: 0] += end - start
        start = end
      }
    }
    return columns
  }

  /// Pixel heights of the kinds in one column, in legend order; a kind present gets at least 1 pixel.
  private func heights(_ column: [ImageSpaceMap.Kind: Int]) -> [(ImageSpaceMap.Kind, Int)] {
    let total = column.values.reduce(0, +)
    guard total > 0 else { return [] }
    var result = ImageSpaceMap.Kind.allCases.compactMap { kind -> (ImageSpaceMap.Kind, Int)? in
      guard let count = column[kind], count > 0 else { return nil }
      return (kind, max(1, count * Self.stripHeight / total))
    }
    // Rounding leftovers (or the 1-pixel minimums) go to, or come from, the largest kind.
    let excess = result.reduce(0) { $0 + $1.1 } - Self.stripHeight
    if let largest = result.indices.max(by: { result[$0].1 < result[$1].1 }) {
      result[largest].1 = max(1, result[largest].1 - excess)
    }
    return result
  }

  private func strip() -> [String] {
    var elements = ["<g id=\"strip\">"]
    let all = columns().map(heights)
    var column = 0
    // Runs of columns with the same composition become one rectangle per kind.
    while column < all.count {
      var end = column + 1
      while end < all.count && all[end].elementsEqual(all[column], by: { $0 == $1 }) { end += 1 }
      var y = Self.stripTop
      for (kind, height) in all[column] {
        elements.append(
          "<rect x=\"\(Self.left + column)\" y=\"\(y)\" width=\"\(end - column)\" height=\"\(height)\" fill=\"\(Self.color(kind))\"/>")
        y += height
      }
      column = end
    }
    elements.append(
      "<rect x=\"\(Self.left)\" y=\"\(Self.stripTop)\" width=\"\(Self.stripWidth)\" height=\"\(Self.stripHeight)\" fill=\"none\" stroke=\"#333333\"/>")
    elements.append(text(12, Self.stripTop + Self.stripHeight / 2 + 4, "image", size: 12, weight: "bold"))
    elements.append("</g>")
    return elements
  }

  /// Offsets under the strip: 0, quarters and the end.
  private func axis(top: Int) -> [String] {
    var elements: [String] = []
    for quarter in 0...4 {
      let x = Self.left + quarter * Self.stripWidth / 4
      let anchor = quarter == 0 ? "start" : quarter == 4 ? "end" : "middle"
      elements.append("<line x1=\"\(x)\" y1=\"\(top)\" x2=\"\(x)\" y2=\"\(top + 5)\" stroke=\"#333333\"/>")
      elements.append(text(x, top + 17, bytes(map.size * quarter / 4), size: 11, anchor: anchor))
    }
    return elements
  }

  /// The XIP area, bracketed above the strip.
  private func bracket(_ area: Range<Int>) -> [String] {
    let x1 = Self.left + area.lowerBound * Self.stripWidth / max(1, map.size)
    let x2 = max(x1 + 1, Self.left + area.upperBound * Self.stripWidth / max(1, map.size))
    let y = Self.stripTop - 8
    let label =
      "XIP area \(hex(area.lowerBound))-\(hex(area.upperBound)) (\(bytes(area.count)), page aligned, mapped in place)"
    let anchor = x1 > Self.left + Self.stripWidth / 2 ? "end" : "start"
    return [
      "<g id=\"xip-area\" data-start=\"\(area.lowerBound)\" data-end=\"\(area.upperBound)\">",
      "<path d=\"M\(x1) \(y + 6) V\(y) H\(x2) V\(y + 6)\" fill=\"none\" stroke=\"\(Self.color(.xipPages))\" stroke-width=\"2\"/>",
      text(anchor == "end" ? x2 : x1, y - 4, label, size: 11, anchor: anchor, fill: "#1a6e1a"),
      "</g>",
    ]
  }

  // MARK: - Rows per mapping class

  /// Where the files of `mappingClass` lie: each column filled as high as its share of their bytes.
  private func row(_ mappingClass: MappingClass, top: Int) -> [String] {
    let files = map.files.filter { $0.mappingClass == mappingClass }
    var shares = [Int](repeating: 0, count: Self.stripWidth)
    var total = 0
    if map.size > 0 {
      for file in files {
        for range in file.ranges {
          total += range.count
          var start = range.lowerBound
          while start < range.upperBound {
            let column = min(Self.stripWidth - 1, start * Self.stripWidth / map.size)
            let end = min(range.upperBound, max((column + 1) * map.size / Self.stripWidth, start + 1))
            shares[column] += end - start
            start = end
          }
        }
      }
    }
    let label = mappingClass == .none ? "not mapped" : mappingClass.rawValue
    var elements = [
      "<g class=\"xip-class\" data-class=\"\(mappingClass.rawValue)\" data-files=\"\(files.count)\" data-bytes=\"\(total)\">",
      "<rect x=\"\(Self.left)\" y=\"\(top)\" width=\"\(Self.stripWidth)\" height=\"\(Self.rowHeight)\" fill=\"#f4f4f4\" stroke=\"#bbbbbb\"/>",
      text(12, top + 13, label, size: 12),
    ]
    var column = 0
    while column < Self.stripWidth {
      let height = columnHeight(shares[column], column: column)
      guard height > 0 else {
        column += 1
        continue
      }
      var end = column + 1
      while end < Self.stripWidth && columnHeight(shares[end], column: end) == height { end += 1 }
      elements.append(
        "<rect x=\"\(Self.left + column)\" y=\"\(top + Self.rowHeight - height)\" width=\"\(end - column)\" height=\"\(height)\" fill=\"\(Self.color(mappingClass))\"/>"
      )
      column = end
    }
    elements.append(
      text(
        Self.left + Self.stripWidth + 6, top + 13, "\(files.count) files", size: 11, fill: "#333333"))
    elements.append("</g>")
    return elements
  }

  /// The height of a row's column holding `count` bytes of its class (at least 1 pixel when any).
  private func columnHeight(_ count: Int, column: Int) -> Int {
    guard count > 0 else { return 0 }
    let columnBytes = max(1, (column + 1) * map.size / Self.stripWidth - column * map.size / Self.stripWidth)
    return max(1, min(Self.rowHeight, count * Self.rowHeight / columnBytes))
  }

  // MARK: - Legend

  private func legend(_ kinds: [ImageSpaceMap.Kind], top: Int) -> [String] {
    var elements = ["<g id=\"legend\">"]
    for (index, kind) in kinds.enumerated() {
      let x = 12 + (index % 2) * 590
      let y = top + (index / 2) * 20
      let count = map.bytes(of: kind)
      elements.append(
        "<g class=\"region\" data-kind=\"\(kind.rawValue)\" data-bytes=\"\(count)\">"
          + "<rect x=\"\(x)\" y=\"\(y)\" width=\"14\" height=\"14\" fill=\"\(Self.color(kind))\" stroke=\"#333333\"/>"
          + text(x + 20, y + 12, "\(kind.rawValue): \(count) bytes (\(bytes(count))), \(percent(count))", size: 12)
          + "</g>")
    }
    var y = top + (kinds.count + 1) / 2 * 20 + 4
    let holes =
      map.holeBlocks == 0
      ? "no holes"
      : "holes: \(map.holeBlocks) all-zero blocks stored as zero-length pointers (no bytes in the image)"
    elements.append(text(12, y + 12, holes, size: 12))
    y += 20
    if hasXIP {
      let counts = [MappingClass.whole, .partial, .none].map { mappingClass in
        "\(map.files.filter { $0.mappingClass == mappingClass }.count) \(mappingClass == .none ? "not mapped" : mappingClass.rawValue)"
      }
      elements.append(text(12, y + 12, "files mapped in place (XIP): " + counts.joined(separator: ", "), size: 12))
    } else {
      elements.append(text(12, y + 12, "no XIP: nothing is mapped in place", size: 12))
    }
    elements.append("</g>")
    return elements
  }

  // MARK: - Text

  private func text(
    _ x: Int, _ y: Int, _ content: String, size: Int, weight: String = "normal", anchor: String = "start",
    fill: String = "#111111"
  ) -> String {
    "<text x=\"\(x)\" y=\"\(y)\" font-size=\"\(size)\" font-weight=\"\(weight)\" text-anchor=\"\(anchor)\" fill=\"\(fill)\">\(Self.escape(content))</text>"
  }

  static func escape(_ text: String) -> String {
    var result = ""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "&": result += "&amp;"
      case "<": result += "&lt;"
      case ">": result += "&gt;"
      case "\"": result += "&quot;"
      // Control characters are not allowed in XML 1.0 text.
      case _ where scalar.value < 0x20 || scalar.value == 0x7F: result += "?"
      default: result.unicodeScalars.append(scalar)
      }
    }
    return result
  }

  private func percent(_ count: Int) -> String {
    guard map.size > 0 else { return "0.0%" }
    let tenths = (count * 1000 + map.size / 2) / map.size
    return "\(tenths / 10).\(tenths % 10)%"
  }

  private func bytes(_ count: Int) -> String {
    if count < 1024 { return "\(count) B" }
    let units = ["KiB", "MiB", "GiB"]
    var value = Double(count) / 1024
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
      value /= 1024
      unit += 1
    }
    let tenths = Int((value * 10).rounded())
    return "\(tenths / 10).\(tenths % 10) \(units[unit])"
  }

  private func hex(_ value: Int) -> String { "0x" + String(value, radix: 16) }
}
