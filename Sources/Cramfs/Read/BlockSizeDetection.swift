/// How an image's block size was established, and how sure that is.
///
/// The format does not record the block size (the target's page size), so a reader either is given it or
/// infers it from the data: for each candidate size, `BlockSizeDetector` lays every file's pointer
/// table and blocks out as the kernel would and counts what does not fit. Exactly one consistent
/// candidate is a detection; several consistent candidates are harmless only when every file reads the
/// same under each of them.
public struct BlockSizeDetection: Sendable, Hashable {
  public enum Method: String, Sendable, Hashable {
    /// The caller gave the block size.
    case given
    /// Exactly one candidate is consistent with the image's data.
    case detected
    /// Several candidates are consistent and every file reads the same under each of them.
    case irrelevant = "assumed-irrelevant"
    /// Several candidates are consistent and some files would read differently: the data does not
    /// decide, so those files are not read without an explicit block size.
    case undecided
    /// No candidate is consistent: the image is damaged under every block size; the one with the fewest
    /// problems is used.
    case damaged
  }

  /// What the data looked like under one candidate block size.
  public struct Candidate: Sendable, Hashable {
    public var blockSize: Int
    /// Files, tables or gaps that do not fit this block size (0: consistent); counting stops at a cap.
    public var problems: Int
    /// The first problem found, for messages.
    public var firstProblem: String?
  }

  public var method: Method
  /// The block size the image is read with.
  public var blockSize: Int
  /// Every candidate examined (empty when the size was given).
  public var candidates: [Candidate]
  /// The sizes still possible after the examination, in order of preference; ``blockSize`` is the first.
  /// One for a detection; several when the data does not decide (all consistent, or tied when damaged).
  public var contenders: [Int]
  /// Regular files and symlinks with data that were examined.
  public var filesExamined: Int
  /// Blocks inflated to separate candidates that the layout alone did not.
  public var blocksInflated: Int
  /// Whether the examination stopped at its work budget (a hostile or enormous image) before seeing
  /// every pointer.
  public var sampled: Bool

  /// Candidates other than ``blockSize`` that fit the data as well; a result that depends on the block
  /// size (an XIP prediction) must agree under each of them.
  public var alternatives: [Int] {
    switch method {
    case .irrelevant, .undecided: contenders.filter { $0 != blockSize }
    case .given, .detected, .damaged: []
    }
  }

  /// Largest file or symlink that reads the same whatever the true block size is (everything, unless
  /// the detection is ``Method/undecided``): a file no larger than the smallest candidate is one block
  /// under every candidate.
  public var unambiguousFileSize: Int {
    method == .undecided ? (contenders.min() ?? blockSize) : Int.max
  }

  /// Whether even the best block size leaves problems: the image is damaged.
  public var isDamaged: Bool {
    (candidates.first { $0.blockSize == blockSize }?.problems ?? 0) > 0
  }

  /// One line for people: how the block size was found.
  public var summary: String {
    func list(_ sizes: [Int]) -> String { sizes.map(String.init).joined(separator: ", ") }
    switch method {
    case .given:
      return "given"
    case .detected:
      let others = candidates.filter { $0.blockSize != blockSize }
      let worst = others.map(\.problems).min() ?? 0
      return "detected: the only size consistent with the data; every other size leaves at least \(worst) problems"
    case .irrelevant:
      return "assumed: \(list(contenders)) all fit the data and every file reads the same under each"
    case .undecided:
      let problems = candidates.first { $0.blockSize == blockSize }?.problems ?? 0
      let fit = isDamaged ? "fit the data equally badly (\(problems) problems each; the image is damaged)" : "fit the data"
      return "undecided: \(list(contenders)) \(fit) and read files over \(unambiguousFileSize) bytes differently"
    case .damaged:
      let best = candidates.first { $0.blockSize == blockSize }
      return "damaged under every block size; the best, \(blockSize), leaves \(best?.problems ?? 0) problems"
        + (best?.firstProblem.map { " (first: \($0))" } ?? "")
    }
  }

  /// A given block size.
  static func given(_ blockSize: Int) -> BlockSizeDetection {
    BlockSizeDetection(
      method: .given, blockSize: blockSize, candidates: [], contenders: [blockSize], filesExamined: 0, blocksInflated: 0, sampled: false)
  }
}
