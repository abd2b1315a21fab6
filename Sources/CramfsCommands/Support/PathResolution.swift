import Cramfs

extension CramfsImage {
  /// Looks up `path` the way `open(2)` would on a mounted image: symlinks are followed, inside the image
  /// (absolute targets start at the image's root), at most 40 of them.
  ///
  /// - Throws: ``CramfsError/Code/notFound`` for a missing component or too many links.
  func resolveFollowingLinks(_ path: String) throws(CramfsError) -> Node {
    var pending = Array(path.split(separator: "/").map(String.init).reversed())
    var stack: [Node] = [root]
    var hops = 0
    while let component = pending.popLast() {
      if component == "." || component.isEmpty { continue }
      if component == ".." {
        if stack.count > 1 { stack.removeLast() }
        continue
      }
      let current = stack[stack.count - 1]
      guard current.type == .directory else {
        throw CramfsError(.notFound, "\(path): not a directory on the way", path: path)
      }
      let wanted = Array(component.utf8)
      guard let child = try children(of: current).first(where: { $0.name == wanted }) else {
        throw CramfsError(.notFound, "\(path): no such file or directory in the image", path: path)
      }
      guard child.type == .symlink else {
        stack.append(child)
        continue
      }
      hops += 1
      guard hops <= 40 else {
        throw CramfsError(.notFound, "\(path): too many levels of symbolic links", path: path)
      }
      let target = String(decoding: try readlink(child), as: UTF8.self)
      if target.hasPrefix("/") { stack = [root] }
      pending.append(contentsOf: target.split(separator: "/").map(String.init).reversed())
    }
    return stack[stack.count - 1]
  }
}
