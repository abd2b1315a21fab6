import Cramfs
import CramfsTestSupport
import Testing

/// One set of options given to both `mkfs.cramfs` and our builder.
struct CompatibleOptions: Sendable, CustomTestStringConvertible {
  var arguments: [String]
  var apply: @Sendable (inout BuildOptions, BuilderFixtures) -> Void

  var testDescription: String {
    arguments.isEmpty ? "(defaults)" : arguments.joined(separator: " ")
  }

  static let insertMarker = "<insert>"

  /// The `mkfs.cramfs` arguments with the insert file filled in.
  func mkfsArguments(_ fixtures: BuilderFixtures) -> [String] {
    arguments.map { $0 == Self.insertMarker ? fixtures.insertFile : $0 }
  }

  static let all: [CompatibleOptions] = [
    .init(arguments: []) { _, _ in },
    .init(arguments: ["-N", "big"]) { o, _ in o.byteOrder = .big },
    .init(arguments: ["-N", "little"]) { o, _ in o.byteOrder = .little },
    .init(arguments: ["-p"]) { o, _ in o.padsBootSector = true },
    .init(arguments: ["-b", "16384"]) { o, _ in o.blockSize = 16384 },
    .init(arguments: ["-b", "65536"]) { o, _ in o.blockSize = 65536 },
    .init(arguments: ["-e", "42"]) { o, _ in o.edition = 42 },
    .init(arguments: ["-n", "sixteen-byte-nam"]) { o, _ in
      o.volumeName = Array("sixteen-byte-nam".utf8)
    },
    .init(arguments: ["-i", insertMarker]) { o, f in o.insertedFile = f.insertFile },
    .init(arguments: ["-z"]) { o, _ in o.holes = true },
    .init(arguments: ["-z", "-N", "big", "-p"]) { o, _ in
      o.holes = true
      o.byteOrder = .big
      o.padsBootSector = true
    },
    .init(arguments: ["-i", insertMarker, "-p", "-N", "big", "-b", "16384", "-e", "3", "-n", "vol"])
    { o, f in
      o.insertedFile = f.insertFile
      o.padsBootSector = true
      o.byteOrder = .big
      o.blockSize = 16384
      o.edition = 3
      o.volumeName = Array("vol".utf8)
    },
    .init(arguments: ["-z", "-b", "65536", "-N", "little", "-e", "1", "-i", insertMarker]) { o, f in
      o.holes = true
      o.blockSize = 65536
      o.byteOrder = .little
      o.edition = 1
      o.insertedFile = f.insertFile
    },
  ]
}

/// `--deflate zlib --level 6` images must equal util-linux `mkfs.cramfs` output byte for byte.
@Suite("Byte-exact with mkfs.cramfs")
struct ByteExactTests {
  @Test("trees × option sets", arguments: BuilderFixtures.Tree.allCases, CompatibleOptions.all)
  func matchesMkfsCramfs(tree kind: BuilderFixtures.Tree, compat: CompatibleOptions) throws {
    let fixtures = BuilderFixtures.shared
    let tree = fixtures.tree(kind)
    var options = BuildOptions()
    options.deflate = .zlib
    options.level = 6
    compat.apply(&options, fixtures)
    let ours = try buildImage(tree.root, options)
    let reference = try referenceImage(tree.root, compat.mkfsArguments(fixtures))
    #expect(ours == reference, "\(firstDifference(ours, reference)); \(tree.replayHint)")
  }
}
