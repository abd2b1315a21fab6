import Cramfs
import CramfsTestSupport
import Foundation
import Testing

/// The code of the DocC articles (Sources/Cramfs/Cramfs.docc), run as written against a small tree, so
/// that the documentation cannot drift from the API.
@Suite struct DocumentationExampleTests {
  @Test func gettingStartedAndExecuteInPlaceExamplesRun() throws {
    let work = try TemporaryDirectory()
    let staging = work.file("staging")
    try FileManager.default.createDirectory(atPath: staging + "/etc", withIntermediateDirectories: true)
    try FileManager.default.createDirectory(atPath: staging + "/usr/bin", withIntermediateDirectories: true)
    try Data("root:x:0:0:root:/root:/bin/sh\n".utf8).write(to: URL(fileURLWithPath: staging + "/etc/passwd"))
    try FileManager.default.copyItem(atPath: "/bin/true", toPath: staging + "/usr/bin/busybox")
    // The articles use relative paths; the test spells them out (changing directory would affect other tests).
    let rootfs = work.file("rootfs.cramfs"), xipPath = work.file("xip.cramfs")

    // Build (GettingStarted).
    var options = BuildOptions()
    options.byteOrder = .big
    options.blockSize = 4096
    let report = try ImageBuilder.build(from: staging, to: rootfs, options: options)
    #expect(report.warnings.isEmpty)

    // Open and read.
    let image = try CramfsImage(path: rootfs)
    let passwd = try image.lookup("/etc/passwd")
    let text = String(decoding: try image.contents(of: passwd), as: UTF8.self)
    #expect(text.hasPrefix("root:"))
    var paths: [String] = []
    try image.walk { path, node in paths.append(path) }
    #expect(paths == ["/etc", "/etc/passwd", "/usr", "/usr/bin", "/usr/bin/busybox"])

    // Check and extract.
    let checked = try ImageChecker.check(path: rootfs)
    #expect(checked.isClean, "\(checked.diagnostics)")
    let extracted = try ImageExtractor.extract(image, to: work.file("out"))
    #expect(extracted.errorCount == 0)

    // Execute in place: lay out, predict, map.
    var xip = BuildOptions()
    xip.xipPatterns = ["/usr/bin/*"]
    try ImageBuilder.build(from: staging, to: xipPath, options: xip)
    let xipImage = try CramfsImage(path: xipPath)
    let prediction = try XIPAnalysis.analyze(xipImage)
    #expect(prediction.files.filter { $0.mappingClass == .whole }.count == 1)
    let mapping = try FileMapping(image: xipImage, node: try xipImage.lookup("/usr/bin/busybox"))
    #expect(mapping.directPages > 0)
    #expect(Array(mapping.bytes) == Array(try Data(contentsOf: URL(fileURLWithPath: staging + "/usr/bin/busybox"))))
  }
}
