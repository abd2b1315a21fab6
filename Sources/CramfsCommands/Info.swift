import ArgumentParser
import Cramfs

extension CramfsCommand {
  /// `cramfs info` (being written; replaced by its real implementation).
  public struct Info: ParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "info", abstract: "Not written yet.")
    public init() {}
    public func run() throws { throw ValidationError("cramfs info is not written yet") }
  }
}
