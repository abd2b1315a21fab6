import Cramfs
import CramfsTestSupport
import Foundation
import Testing

/// `lookup` without and with following symlinks, against a tree whose answers are known by construction.
@Suite struct LookupTests {
  static func image() throws -> (CramfsImage, TemporaryDirectory) {
    let work = try TemporaryDirectory()
    let tree = work.file("tree")
    let manager = FileManager.default
    try manager.createDirectory(atPath: tree + "/etc/conf", withIntermediateDirectories: true)
    try Data("real\n".utf8).write(to: URL(fileURLWithPath: tree + "/etc/conf/file"))
    try manager.createSymbolicLink(atPath: tree + "/relative", withDestinationPath: "etc/conf/file")
    try manager.createSymbolicLink(atPath: tree + "/absolute", withDestinationPath: "/etc/conf")
    try manager.createSymbolicLink(atPath: tree + "/chain", withDestinationPath: "relative")
    try manager.createSymbolicLink(atPath: tree + "/etc/up", withDestinationPath: "../etc/conf/../conf/file")
    try manager.createSymbolicLink(atPath: tree + "/loop-a", withDestinationPath: "loop-b")
    try manager.createSymbolicLink(atPath: tree + "/loop-b", withDestinationPath: "loop-a")
    try manager.createSymbolicLink(atPath: tree + "/dangling", withDestinationPath: "nowhere")
    try ImageBuilder.build(from: tree, to: work.file("image"), options: BuildOptions())
    return (try CramfsImage(path: work.file("image")), work)
  }

  @Test func linksAreFollowedOnlyWhenAsked() throws {
    let (image, work) = try Self.image()
    defer { _ = work }
    let file = try image.lookup("/etc/conf/file")
    #expect(file.type == .regular)
    #expect(try image.lookup("/relative").type == .symlink)
    for path in ["/relative", "/chain", "/absolute/file", "etc/up", "/absolute/../conf/file"] {
      let found = try image.lookup(path, followingLinks: true)
      #expect(found.entryOffset == file.entryOffset, "\(path)")
      #expect(try image.contents(of: found) == Array("real\n".utf8))
    }
    #expect(try image.lookup("/absolute", followingLinks: true).type == .directory)
    for (path, words) in [("/loop-a", "too many levels"), ("/dangling", "no such file"), ("/etc/conf/file/x", "not a directory")] {
      #expect {
        try image.lookup(path, followingLinks: true)
      } throws: { error in
        (error as? CramfsError)?.code == .notFound && (error as? CramfsError)?.message.contains(words) == true
      }
    }
  }
}
