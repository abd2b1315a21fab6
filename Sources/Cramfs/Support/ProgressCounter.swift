import Synchronization

/// Counters that a long operation (build, extraction, check, scan) advances as it works, so that a caller
/// can show progress from another thread.
///
/// The library only counts: workers add with relaxed atomics (no lock, no formatting), and totals are
/// raised as soon as they are known. A display reads ``snapshot()`` a few times a second.
///
///     let progress = ProgressCounter()
///     var options = BuildOptions()
///     options.progress = progress
///     // on another thread, every 250 ms:
///     let now = progress.snapshot()
///     print(now.bytes, "of", now.totalBytes)
///
/// Two options values are equal when they report to the same counter (identity).
public final class ProgressCounter: Sendable, Hashable {
  /// The counters at one moment. A total of 0 means not known yet.
  public struct Snapshot: Sendable, Hashable {
    /// Bytes of file data done (built, written, verified or scanned, by operation).
    public var bytes: Int
    /// Bytes of file data the operation will do, as far as known.
    public var totalBytes: Int
    /// Entries (files, directories...) done.
    public var entries: Int
    /// Entries the operation will do, as far as known.
    public var totalEntries: Int

    /// A snapshot with these values.
    public init(bytes: Int = 0, totalBytes: Int = 0, entries: Int = 0, totalEntries: Int = 0) {
      self.bytes = bytes
      self.totalBytes = totalBytes
      self.entries = entries
      self.totalEntries = totalEntries
    }

    /// The part done, from 0 to 1: by bytes when their total is known, else by entries; nil when neither is.
    public var fraction: Double? {
      if totalBytes > 0 { return min(1, Double(bytes) / Double(totalBytes)) }
      if totalEntries > 0 { return min(1, Double(entries) / Double(totalEntries)) }
      return nil
    }
  }

  private let bytes = Atomic<Int>(0)
  private let totalBytes = Atomic<Int>(0)
  private let entries = Atomic<Int>(0)
  private let totalEntries = Atomic<Int>(0)

  /// A counter at zero with unknown totals.
  public init() {}

  /// Records `count` more bytes done.
  @inline(__always)
  public func addBytes(_ count: Int) { bytes.wrappingAdd(count, ordering: .relaxed) }

  /// Records `count` more entries done.
  @inline(__always)
  public func addEntries(_ count: Int = 1) { entries.wrappingAdd(count, ordering: .relaxed) }

  /// Raises the known totals by these amounts (a total may grow while the work is discovered).
  public func addTotals(bytes: Int = 0, entries: Int = 0) {
    if bytes != 0 { totalBytes.wrappingAdd(bytes, ordering: .relaxed) }
    if entries != 0 { totalEntries.wrappingAdd(entries, ordering: .relaxed) }
  }

  /// Starts the measured phase: done counts back to zero, totals set to these. Before it, an operation may
  /// count what it reads with unknown totals (a build reading its input).
  public func restart(totalBytes: Int, totalEntries: Int) {
    bytes.store(0, ordering: .relaxed)
    entries.store(0, ordering: .relaxed)
    self.totalBytes.store(totalBytes, ordering: .relaxed)
    self.totalEntries.store(totalEntries, ordering: .relaxed)
  }

  /// The counters now (each read on its own; good enough for a display).
  public func snapshot() -> Snapshot {
    Snapshot(
      bytes: bytes.load(ordering: .relaxed), totalBytes: totalBytes.load(ordering: .relaxed),
      entries: entries.load(ordering: .relaxed), totalEntries: totalEntries.load(ordering: .relaxed))
  }

  public static func == (a: ProgressCounter, b: ProgressCounter) -> Bool { a === b }
  public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}
