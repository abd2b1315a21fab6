import Cramfs
import CramfsTestSupport
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
  import Glibc
#endif

@Suite(.enabled(if: TestEnvironment.gate(MountTools.available), "needs /dev/fuse, fusermount3 and the built cramfs binary"))
struct ReadTests {
  /// 16 threads read random ranges of random files at once (half bypass the page cache with O_DIRECT).
  @Test func sixteenParallelReadersGetExactContent() throws {
    let workspace = try Workspace("parallel")
    var options = TreeGenerator.Options()
    options.randomFiles = 60
    options.maxRandomSize = 600_000
    var generator = TreeGenerator(seed: TestSeed.value(0x16), options: options)
    let tree = try generator.generate(at: workspace.root + "/tree")
    var files: [(String, [UInt8])] = []
    for path in try FileManager.default.subpathsOfDirectory(atPath: tree.root) {
      var info = stat()
      if lstat(tree.root + "/" + path, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_size > 0 {
        files.append((path, Array(try Data(contentsOf: URL(fileURLWithPath: tree.root + "/" + path)))))
      }
    }
    let imagePath = try workspace.mkfs(tree.root, [], name: "image")
    let mounted = try MountedImage(image: imagePath, arguments: ["--cache", "256K"])
    defer { _ = try? mounted.unmount() }
    let corpus = files
    let mountPoint = mounted.mountPoint
    let failures = Mutex<[String]>([])
    let reads = Mutex(0)
    let done = DispatchSemaphore(value: 0)
    let seed = TestSeed.value(0x5EED)
    for thread in 0..<16 {
      Thread {
        defer { done.signal() }
        var random = SeededGenerator(seed: seed &+ UInt64(thread))
        var buffer = [UInt8](repeating: 0, count: 300_000)
        for _ in 0..<150 {
          let (path, content) = corpus[Int.random(in: 0..<corpus.count, using: &random)]
          let offset = Int.random(in: 0..<content.count, using: &random)
          let length = Int.random(in: 1...min(buffer.count, content.count - offset + 100), using: &random)
          let direct = thread % 2 == 1
          let fd = open(mountPoint + "/" + path, O_RDONLY | O_CLOEXEC | (direct ? openDirect : 0))
          guard fd >= 0 else {
            failures.withLock { $0.append("open \(path): errno \(errno)") }
            continue
          }
          let got = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, length, off_t(offset)) }
          close(fd)
          let want = content[offset..<min(content.count, offset + length)]
          if got != want.count || !buffer[0..<max(0, got)].elementsEqual(want) {
            failures.withLock { $0.append("\(path) at \(offset)+\(length): got \(got) bytes, want \(want.count)") }
          }
          reads.withLock { $0 += 1 }
        }
      }.start()
    }
    for _ in 0..<16 {
      #expect(done.wait(timeout: .now() + 300) == .success, "a reader did not finish")
    }
    let found = failures.withLock { $0 }
    #expect(found.isEmpty, "\(found.count) errors: \(found.prefix(5))")
    #expect(reads.withLock { $0 } == 16 * 150)
  }

  @Test func mmapThroughTheMount() throws {
    let workspace = try Workspace("mmap")
    var generator = TreeGenerator(seed: TestSeed.value(0x3A9))
    let tree = try generator.generate(at: workspace.root + "/tree")
    let imagePath = try workspace.make(tree.root, BuildOptions(), name: "image")
    let mounted = try MountedImage(image: imagePath)
    defer { _ = try? mounted.unmount() }
    for name in ["sizes/random-131073", "sizes/text-65537", "sizes/text-4096", "zeros/all-5"] {
      let expected = Array(try Data(contentsOf: URL(fileURLWithPath: tree.root + "/" + name)))
      let fd = open(mounted.mountPoint + "/" + name, O_RDONLY | O_CLOEXEC)
      try #require(fd >= 0)
      defer { close(fd) }
      for flags in [MAP_PRIVATE, MAP_SHARED] {
        let address = try #require(mmap(nil, expected.count, PROT_READ, flags, fd, 0))
        try #require(address != MAP_FAILED, "mmap \(name): errno \(errno)")
        let mapped = UnsafeRawBufferPointer(start: address, count: expected.count)
        #expect(mapped.elementsEqual(expected), "\(name)")
        munmap(address, expected.count)
      }
    }
  }

  /// An image inside a larger file (a flash dump) mounts with `--offset`.
  @Test func offsetInsideALargerFile() throws {
    let workspace = try Workspace("offset")
    var generator = TreeGenerator(seed: TestSeed.value(0x0FF))
    let tree = try generator.generate(at: workspace.root + "/tree")
    let imagePath = try workspace.mkfs(tree.root, ["-N", "big"], name: "image")
    var dump = [UInt8](repeating: 0xA5, count: 0x12344)
    dump += try Data(contentsOf: URL(fileURLWithPath: imagePath))
    dump += [UInt8](repeating: 0xFF, count: 1000)
    let dumpPath = workspace.root + "/flash.bin"
    try Data(dump).write(to: URL(fileURLWithPath: dumpPath))
    let mounted = try MountedImage(image: dumpPath, arguments: ["--offset", "0x12344"])
    let differences = snapshotDifferences(try snapshotTree(tree.root), try snapshotTree(mounted.mountPoint))
    #expect(differences.isEmpty, "\(differences.prefix(10))")
    #expect(try mounted.unmount() == 0)
  }
}

/// `O_DIRECT`, which Glibc does not export to Swift (it needs `_GNU_SOURCE`).
#if arch(x86_64) || arch(i386)
  let openDirect: Int32 = 0o40000
#else
  let openDirect: Int32 = 0o200000
#endif
