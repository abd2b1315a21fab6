import ArgumentParser
import CCramfsShims
import Cramfs

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import struct SystemPackage.FileDescriptor

/// `--progress` / `--no-progress`: a progress line on standard error, by default only when it is a terminal.
public struct ProgressOptions: ParsableArguments {
  @Flag(
    inversion: .prefixedNo,
    help: "Show a progress line on standard error (default: when it is a terminal and the command is not quiet).")
  public var progress: Bool?

  public init() {}

  /// Whether to show progress: as asked, else when standard error is a terminal and `quiet` is false.
  public func isEnabled(quiet: Bool = false) -> Bool {
    progress ?? (!quiet && isatty(FileDescriptor.standardError.rawValue) == 1)
  }
}

/// Formats one progress line, e.g.
/// `42%  48.3 MiB/115.0 MiB  1234/5678 files  52.1 MiB/s  0:02 left`.
struct ProgressLine {
  /// What the entries are called (`files`, `entries`, `images`).
  var noun: String

  /// The line for `snapshot`. The pace comes from the work done since `baseline` (the counters when the
  /// totals became known), `elapsed` seconds ago; rate and time left appear once there is half a second of it.
  func format(_ snapshot: ProgressCounter.Snapshot, baseline: ProgressCounter.Snapshot, elapsed: Double) -> String {
    if snapshot == ProgressCounter.Snapshot() { return "preparing..." }
    // Without totals the work is still being discovered (a build reading its input).
    var fields = [snapshot.fraction.map { "\(Int($0 * 100))%" } ?? "reading"]
    if snapshot.bytes > 0 || snapshot.totalBytes > 0 {
      fields.append(
        Self.bytes(snapshot.bytes) + (snapshot.totalBytes > 0 ? "/" + Self.bytes(snapshot.totalBytes) : ""))
    }
    fields.append(
      "\(snapshot.entries)" + (snapshot.totalEntries > 0 ? "/\(snapshot.totalEntries)" : "") + " " + noun)
    guard elapsed >= 0.5 else { return fields.joined(separator: "  ") }
    let byteRate = Double(snapshot.bytes - baseline.bytes) / elapsed
    let entryRate = Double(snapshot.entries - baseline.entries) / elapsed
    // The rate of what moves: bytes, or entries while only they do (a check walking its directories).
    fields.append(byteRate > 0 || entryRate <= 0 ? Self.bytes(Int(byteRate)) + "/s" : "\(Int(entryRate)) \(noun)/s")
    // Time left at the pace so far: by bytes when their total is known, else by entries.
    if snapshot.totalBytes > 0, byteRate > 0 {
      fields.append(Self.duration(Double(max(0, snapshot.totalBytes - snapshot.bytes)) / byteRate) + " left")
    } else if snapshot.totalEntries > 0, entryRate > 0 {
      fields.append(Self.duration(Double(max(0, snapshot.totalEntries - snapshot.entries)) / entryRate) + " left")
    }
    return fields.joined(separator: "  ")
  }

  /// `512 B`, `12.3 KiB`, `115.0 MiB`, `2.1 GiB`.
  static func bytes(_ count: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(count)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
      value /= 1024
      unit += 1
    }
    if unit == 0 { return "\(count) B" }
    let tenths = Int((value * 10).rounded())
    return "\(tenths / 10).\(tenths % 10) \(units[unit])"
  }

  /// `0:07`, `12:34`, `1:02:03`.
  static func duration(_ seconds: Double) -> String {
    let total = Int(min(seconds, 359_999).rounded(.up))
    let (hours, minutes, secs) = (total / 3600, total / 60 % 60, total % 60)
    let twoDigits = { (value: Int) in value < 10 ? "0\(value)" : "\(value)" }
    return hours > 0 ? "\(hours):\(twoDigits(minutes)):\(twoDigits(secs))" : "\(minutes):\(twoDigits(secs))"
  }
}

/// Draws a ``ProgressCounter`` on standard error a few times a second from a thread of its own, so the
/// work never formats or writes: each draw is the line, clear-to-end-of-line and `\r`, so the next draw
/// overwrites it; the thread clears the line when the work is done.
final class ProgressDisplay: Sendable {
  /// Time between draws.
  static let interval = Duration.milliseconds(250)
  let counter = ProgressCounter()
  private let line: ProgressLine
  /// Set when the work is done; the thread sleeps on it between draws, so it ends at once.
  private let stopping = Condition(false)

  private init(noun: String) { line = ProgressLine(noun: noun) }

  /// Runs `body` with a counter shown on standard error when `enabled` (with nil otherwise, or when no
  /// thread can be started), and clears the line before returning or throwing.
  @discardableResult
  static func run<T, E: Error>(
    enabled: Bool, noun: String, _ body: (ProgressCounter?) throws(E) -> T
  ) throws(E) -> T {
    let display = ProgressDisplay(noun: noun)
    guard enabled, let thread = try? Threads.start(name: "cramfs-progress", { display.loop() }) else {
      return try body(nil)
    }
    defer {
      display.stopping.withLock { $0 = true }
      display.stopping.signal()
      thread.join()
    }
    return try body(display.counter)
  }

  private func loop() {
    // When the totals became known.
    var workStart: (time: ContinuousClock.Instant, counters: ProgressCounter.Snapshot)?
    // Drawn at least once, even when the work ends before the first tick.
    repeat {
      draw(since: &workStart)
    } while stopping.wait(timeout: Self.interval, { $0 ? true : nil }) == nil
    write("\u{1B}[K")
  }

  private func draw(since workStart: inout (time: ContinuousClock.Instant, counters: ProgressCounter.Snapshot)?) {
    let snapshot = counter.snapshot()
    // Rate and time left count from the first draw that knows a total: reading the input (a directory
    // walk, an archive) before that is not the work being paced.
    if workStart == nil && snapshot.fraction != nil { workStart = (.now, snapshot) }
    let start = workStart ?? (.now, snapshot)
    let elapsed = start.time.duration(to: .now)
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    var text = line.format(snapshot, baseline: start.counters, elapsed: seconds)
    // A line longer than the terminal would wrap, and `\r` would then leave the wrapped part behind at
    // every draw: cut it to the width (the text is ASCII), asked each time since a window can be resized.
    let columns = Int(CCramfsShims_terminal_columns(FileDescriptor.standardError.rawValue))
    if columns > 1 && text.utf8.count >= columns { text = String(text.prefix(columns - 1)) }
    write(text + "\u{1B}[K\r")
  }

  /// Writes straight to standard error (not through ``FileOutput``, whose buffer is the main thread's).
  private func write(_ text: String) {
    // A display that cannot be written is no reason to fail the work.
    _ = try? FileDescriptor.standardError.writeAll(text.utf8)
  }
}
