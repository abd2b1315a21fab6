import ArgumentParser
import Cramfs

extension CramfsCommand {
  /// `cramfs extract` (being written; replaced by its real implementation).
  public struct Extract: ParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "extract", abstract: "Not written yet.")
    public init() {}
    public func run() throws { throw ValidationError("cramfs extract is not written yet") }
  }
}
