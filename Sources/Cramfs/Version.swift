/// The version of swift-cramfs: the library and its tools (`cramfs --version`, `cramfsck -V`).
///
/// Bumped when a release is cut (see CHANGELOG.md); between releases it carries `-dev`.
public let swiftCramfsVersion = "0.1.0-dev"
