import ArgumentParser
import Cramfs

extension CramfsCommand {
  /// `cramfs cat` (being written; replaced by its real implementation).
  public struct Cat: ParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "cat", abstract: "Not written yet.")
    public init() {}
    public func run() throws { throw ValidationError("cramfs cat is not written yet") }
  }
}
