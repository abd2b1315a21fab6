import ArgumentParser
import Cramfs

/// `cramfs`: build, check, extract and inspect cramfs images.
public struct CramfsCommand: ParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "cramfs",
    abstract: "Build, check, extract and inspect cramfs images.",
    version: "cramfs (swift-cramfs) \(swiftCramfsVersion)",
    subcommands: [Make.self, Check.self, Extract.self, List.self, Cat.self, Info.self, Xip.self, Map.self, Mount.self, Scan.self, Diff.self])

  public init() {}
}
