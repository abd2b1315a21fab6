import Cramfs

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Buffered output to a file descriptor with `write(2)`: large writes, retried on `EINTR` and short writes.
///
///     FileOutput.standardOutput.write("hello\n")
///     try FileOutput.standardOutput.flush()
///
/// Not thread-safe: the command-line tools write from one thread.
public final class FileOutput: @unchecked Sendable {
  /// Standard output, buffered.
  public static let standardOutput = FileOutput(descriptor: 1, name: "standard output")
  /// Standard error; callers flush after each message.
  public static let standardError = FileOutput(descriptor: 2, name: "standard error", capacity: 0)

  public let descriptor: Int32
  public let name: String
  private var buffer: [UInt8] = []
  private let capacity: Int

  public init(descriptor: Int32, name: String, capacity: Int = 1 << 16) {
    self.descriptor = descriptor
    self.name = name
    self.capacity = capacity
    buffer.reserveCapacity(capacity)
  }

  /// Appends text; writes when the buffer is full.
  public func write(_ text: String) throws(CramfsError) {
    buffer.append(contentsOf: text.utf8)
    if buffer.count >= capacity { try flush() }
  }

  /// Appends bytes; writes when the buffer is full.
  public func write(bytes: some Collection<UInt8>) throws(CramfsError) {
    buffer.append(contentsOf: bytes)
    if buffer.count >= capacity { try flush() }
  }

  /// Writes what is buffered.
  public func flush() throws(CramfsError) {
    guard !buffer.isEmpty else { return }
    let failure = buffer.withUnsafeBytes { bytes -> CramfsError? in
      do throws(CramfsError) { try writeUnbuffered(bytes) } catch { return error }
      return nil
    }
    buffer.removeAll(keepingCapacity: true)
    if let failure { throw failure }
  }

  func flushIgnoringErrors() { try? flush() }

  /// Writes `bytes` directly, after anything buffered, without copying them.
  ///
  /// - Throws: ``CramfsError/Code/io`` naming the stream and the system's reason.
  public func writeAll(_ bytes: UnsafeRawBufferPointer) throws(CramfsError) {
    if !buffer.isEmpty { try flush() }
    try writeUnbuffered(bytes)
  }

  private func writeUnbuffered(_ bytes: UnsafeRawBufferPointer) throws(CramfsError) {
    var rest = bytes
    while !rest.isEmpty {
      let written = systemWrite(descriptor, rest.baseAddress, rest.count)
      if written < 0 {
        if errno == EINTR { continue }
        throw SystemCall.error("cannot write to \(name)")
      }
      rest = UnsafeRawBufferPointer(rebasing: rest[written...])
    }
  }
}

private func systemWrite(_ fd: Int32, _ pointer: UnsafeRawPointer?, _ count: Int) -> Int {
  write(fd, pointer, count)
}

extension FileOutput {
  /// Writes `contents` to the file at `path`, created or truncated (mode 0666 minus the umask).
  ///
  /// - Throws: ``CramfsError/Code/io`` naming the file and the system's reason.
  static func writeFile(_ path: String, contents: String) throws(CramfsError) {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o666)
    guard descriptor >= 0 else {
      throw SystemCall.error("cannot create \(path)", path: path)
    }
    let file = FileOutput(descriptor: descriptor, name: path)
    do {
      try file.write(contents)
      try file.flush()
    } catch {
      close(descriptor)
      throw error
    }
    guard close(descriptor) == 0 else {
      throw SystemCall.error("cannot write \(path)", path: path)
    }
  }
}
