import Cramfs
import CramfsTestSupport
import Foundation
import Testing

/// Set once, by the fixtures' initializer (which `static let` runs once), read at exit.
nonisolated(unsafe) private var fixtureDirectory: String?

/// Trees and files shared by the builder tests, generated once per test run.
final class BuilderFixtures: Sendable {
  static let shared: BuilderFixtures = {
    do { return try BuilderFixtures() } catch {
      fatalError("cannot make builder fixtures: \(error)")
    }
  }()

  /// The kinds of tree the byte-exact matrix runs over.
  enum Tree: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case generatedA, generatedB, generatedC, emptyRoot, onlyEmptyDirectory
    var testDescription: String { rawValue }
  }

  let directory: String
  let trees: [Tree: GeneratedTree]
  /// A file for `-i` (1001 bytes, so it needs padding to 4).
  let insertFile: String

  private init() throws {
    directory = try makeTemporaryDirectory("builder")
    fixtureDirectory = directory
    // Swift Testing has no global tear-down; remove the trees when the test process exits.
    atexit { if let directory = fixtureDirectory { removeTree(directory) } }
    var trees: [Tree: GeneratedTree] = [:]
    let base = TestSeed.value(0xC0FFEE)
    var options = TreeGenerator.Options()
    options.maxRandomSize = 100_000
    var a = TreeGenerator(seed: base, options: options)
    trees[.generatedA] = try a.generate(at: directory + "/a")
    options.randomFiles = 70
    options.wideCount = 300
    var b = TreeGenerator(seed: base &+ 1, options: options)
    trees[.generatedB] = try b.generate(at: directory + "/b")
    options.randomFiles = 10
    options.depth = 3
    options.wideCount = 5
    options.includeSpecialFiles = false
    var c = TreeGenerator(seed: base &+ 2, options: options)
    trees[.generatedC] = try c.generate(at: directory + "/c")
    mkdir(directory + "/empty", 0o755)
    trees[.emptyRoot] = GeneratedTree(root: directory + "/empty", seed: 0, entryCount: 0)
    mkdir(directory + "/one", 0o700)
    mkdir(directory + "/one/dir", 0o755)
    trees[.onlyEmptyDirectory] = GeneratedTree(root: directory + "/one", seed: 0, entryCount: 1)
    self.trees = trees
    insertFile = directory + "/insert.bin"
    var random = SeededGenerator(seed: base)
    guard FileManager.default.createFile(atPath: insertFile, contents: Data(random.bytes(1001)))
    else {
      throw GeneratorError("cannot create \(insertFile)")
    }
  }

  func tree(_ kind: Tree) -> GeneratedTree { trees[kind]! }
}

/// Builds with our builder into a fresh path and returns the bytes.
func buildImage(_ tree: String, _ options: BuildOptions, name: String = "ours") throws -> [UInt8] {
  let scratch = try makeTemporaryDirectory(name)
  defer { removeTree(scratch) }
  try ImageBuilder.build(from: tree, to: scratch + "/image", options: options)
  return try readBytes(scratch + "/image")
}

/// Builds with util-linux `mkfs.cramfs` and returns the bytes.
func referenceImage(_ tree: String, _ arguments: [String]) throws -> [UInt8] {
  let scratch = try makeTemporaryDirectory("ref")
  defer { removeTree(scratch) }
  let result = try runProcess("/usr/sbin/mkfs.cramfs", arguments + [tree, scratch + "/image"])
  guard result.status == 0 else {
    throw GeneratorError("mkfs.cramfs failed: \(result.standardError)")
  }
  return try readBytes(scratch + "/image")
}

/// The first differing offset, for messages.
func firstDifference(_ a: [UInt8], _ b: [UInt8]) -> String {
  if let index = zip(a, b).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
    return "first difference at 0x\(String(index, radix: 16)) (lengths \(a.count), \(b.count))"
  }
  return a.count == b.count ? "equal" : "lengths differ: \(a.count) vs \(b.count)"
}
