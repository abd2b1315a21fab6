import Cramfs

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import struct SystemPackage.FileDescriptor
import struct SystemPackage.FilePermissions

/// Buffered output to a file descriptor with swift-system's `writeAll`: large writes, retried on `EINTR` and
/// short writes.
///
///     FileOutput.standardOutput.write("hello\n")
///     try FileOutput.standardOutput.flush()
///
/// Not thread-safe: the command-line tools write from one thread.
public final class FileOutput: @unchecked Sendable {
  /// Standard output, buffered.
  public static let standardOutput = FileOutput(descriptor: .standardOutput, name: "standard output")
  /// Standard error; callers flush after each message.
  public static let standardError = FileOutput(descriptor: .standardError, name: "standard error", capacity: 0)

  /// Where the bytes go; not closed by this object.
  public let descriptor: FileDescriptor
  /// The stream's name in messages ("standard output", a path).
  public let name: String
  private var buffer: [UInt8] = []
  private let capacity: Int

  /// Output to `descriptor`, which the caller keeps open (and closes) while this object is used.
  ///
  /// - Parameters:
  ///   - descriptor: the open descriptor written to.
  ///   - name: the stream's name in messages.
  ///   - capacity: bytes buffered before a write; 0 writes at each call.
  public init(descriptor: FileDescriptor, name: String, capacity: Int = 1 << 16) {
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
    do {
      try descriptor.writeAll(bytes)
    } catch {
      throw SystemCall.error("cannot write to \(name)", thrown: error)
    }
  }
}

extension FileOutput {
  /// Writes `contents` to the file at `path`, created or truncated (mode 0666 minus the umask).
  ///
  /// - Throws: ``CramfsError/Code/io`` naming the file and the system's reason.
  static func writeFile(_ path: String, contents: String) throws(CramfsError) {
    let descriptor: FileDescriptor
    do {
      descriptor = try FileDescriptor.open(
        path: path, .writeOnly, options: [.create, .truncate, .closeOnExec], permissions: FilePermissions(rawValue: 0o666))
    } catch {
      throw SystemCall.error("cannot create \(path)", errno: error.rawValue, path: path)
    }
    let file = FileOutput(descriptor: descriptor, name: path)
    do {
      try file.write(contents)
      try file.flush()
    } catch {
      try? descriptor.close()
      throw error
    }
    do {
      try descriptor.close()
    } catch {
      throw SystemCall.error("cannot write \(path)", thrown: error, path: path)
    }
  }
}
