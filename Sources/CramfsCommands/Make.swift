import ArgumentParser
import Cramfs

extension CramfsCommand {
  /// `cramfs make` (being written; replaced by its real implementation).
  public struct Make: ParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "make", abstract: "Not written yet.")
    public init() {}
    public func run() throws { throw ValidationError("cramfs make is not written yet") }
  }
}
