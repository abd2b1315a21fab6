import ArgumentParser
import Cramfs

#if canImport(Glibc)
  import Glibc
#endif

extension CramfsCommand {
  /// `cramfs diff A B`: what differs between two trees, each an image, a directory or a tar archive.
  public struct Diff: ParsableCommand {
    public static let configuration = CommandConfiguration(
      commandName: "diff",
      abstract: "Compare two trees, each an image, a directory or a tar archive (told apart by content).",
      discussion: """
        One line per path that differs: only in one of them, or its type, mode, owner, size, device numbers, \
        link target or content. Owners and device numbers are compared as an image holds them (16-bit uid, \
        8-bit gid, 8-bit major and minor), so a tree compares equal to the image built from it.
        Exit status: 0 equal, 1 different, 8 unreadable input, 16 usage.
        """)

    @Argument(help: "The first tree: image, directory, or tar archive.")
    public var first: String

    @Argument(help: "The second tree.")
    public var second: String

    @Flag(help: "Print a JSON array of the differences.")
    public var json = false

    public init() {}

    public func run() throws {
      let options = BuildOptions()
      // A tar stream keeps file data aside in a temporary file; nothing else is written.
      let scratch = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
      let a = try ImageInputs.detect(first).readTree(options: options, scratchDirectory: scratch)
      let b = try ImageInputs.detect(second).readTree(options: options, scratchDirectory: scratch)
      let differences = try TreeComparison.compare(a, b)
      let out = FileOutput.standardOutput
      if json {
        try out.write(JSONValue.array(differences.map { difference in
          .object([
            ("path", .string(difference.path)),
            ("aspects", .array(difference.aspects.map { .string($0.rawValue) })),
            ("detail", .string(difference.detail)),
          ])
        }).rendered(pretty: true) + "\n")
      } else {
        for difference in differences { try out.write(difference.description + "\n") }
      }
      try out.flush()
      if !differences.isEmpty { throw ExitCode(1) }
    }
  }
}
