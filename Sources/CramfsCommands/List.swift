import ArgumentParser
import Cramfs

extension CramfsCommand {
  /// `cramfs list` (being written; replaced by its real implementation).
  public struct List: ParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "list", abstract: "Not written yet.")
    public init() {}
    public func run() throws { throw ValidationError("cramfs list is not written yet") }
  }
}
