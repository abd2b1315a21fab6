import ArgumentParser
import Cramfs

extension CramfsCommand {
  /// `cramfs check` (being written; replaced by its real implementation).
  public struct Check: ParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "check", abstract: "Not written yet.")
    public init() {}
    public func run() throws { throw ValidationError("cramfs check is not written yet") }
  }
}
