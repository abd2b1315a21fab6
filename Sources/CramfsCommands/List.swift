import ArgumentParser
import Cramfs

extension CramfsCommand {
  /// `cramfs list IMAGE [PATH]`: the entries of a directory of the image, `ls -l` style.
  ///
  ///     $ cramfs list rootfs.img /etc
  ///     -rw-r--r-- 0 0  12 hostname
  ///     lrwxrwxrwx 0 0  12 mtab -> /proc/mounts
  public struct List: ParsableCommand {
    public static let configuration = CommandConfiguration(
      commandName: "list",
      abstract: "List the entries of a directory of an image (ls -l style).",
      discussion: """
        Columns: type and permissions, uid, gid, size in bytes (or "major, minor" for devices), name, and \
        "-> target" for symlinks. Values are those a mounted image reports (the root's mode gets 0555 added).
        """)

    @Argument(help: "The cramfs image.")
    public var image: String

    @Argument(help: "A directory or entry inside the image (default: the root).")
    public var path: String = "/"

    @Flag(name: [.customShort("R"), .long], help: "List every entry below the directory, with paths relative to it.")
    public var recursive = false

    @Flag(help: "Print a JSON array of entries (path, name, type, mode, permissions, uid, gid, size, inode, 512-byte blocks, links, major/minor, target).")
    public var json = false

    @OptionGroup public var imageOptions: ImageOptions

    public init() {}

    public func run() throws {
      let image = try imageOptions.open(self.image)
      let start = try image.lookup(path)
      let base = Self.normalized(path)
      var entries: [EntryDescription] = []
      if start.type == .directory {
        entries = try collect(image, start, path: base)
      } else {
        if recursive { printToolWarning("-R does nothing: \(base) is not a directory", tool: "cramfs") }
        entries.append(try EntryDescription(image: image, node: start, path: base, displayName: start.nameString))
      }
      let out = FileOutput.standardOutput
      if json {
        try out.write(JSONValue.array(entries.map(\.json)).rendered(pretty: true) + "\n")
      } else {
        let rows = entries.map { entry in
          [entry.modeString, String(entry.stat.uid), String(entry.stat.gid), entry.sizeString,
           entry.displayName + (entry.target.map { " -> " + $0 } ?? "")]
        }
        try out.write(formatColumns(rows, rightAligned: [1, 2, 3]))
      }
      try out.flush()
    }

    /// The entries below `directory` (at `path`), depth first, those of subdirectories too with `-R`.
    private func collect(_ image: CramfsImage, _ directory: Node, path: String) throws(CramfsError) -> [EntryDescription] {
      var entries: [EntryDescription] = []
      let base = Array(path.utf8.dropFirst())
      // Paths from the walk are `base/relative`; the display name is the relative part.
      let prefix = base.isEmpty ? 0 : base.count + 1
      try image.walk(from: directory, path: base, order: .preOrder) { (childPath, child) throws(CramfsError) in
        let relative = String(decoding: childPath[prefix...], as: UTF8.self)
        let absolute = "/" + String(decoding: childPath, as: UTF8.self)
        entries.append(try EntryDescription(image: image, node: child, path: absolute, displayName: relative))
        return recursive
      }
      return entries
    }

    /// `a//b/` → `/a/b`; `.` and `..` resolved as `lookup` does.
    static func normalized(_ path: String) -> String {
      var parts: [Substring] = []
      for part in path.split(separator: "/") {
        if part == "." { continue }
        if part == ".." { _ = parts.popLast(); continue }
        parts.append(part)
      }
      return "/" + parts.joined(separator: "/")
    }
  }
}
