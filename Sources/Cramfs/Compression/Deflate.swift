import CLibdeflate
import CZlib

/// Which deflate implementation compresses blocks.
public enum DeflateImplementation: String, Sendable, CaseIterable {
  /// libdeflate: fast, and smaller output at the same level. The default.
  case libdeflate
  /// System zlib (`compress2`): the bytes `mkfs.cramfs` writes, for byte-exact images.
  case zlib
}

/// Compresses blocks into zlib streams (RFC 1950), the format every compressed cramfs block uses.
///
/// Not thread-safe: each task owns one (codec state cannot be shared).
package final class BlockCompressor {
  public let implementation: DeflateImplementation
  public let level: Int
  private let libdeflate: OpaquePointer?

  /// Valid levels: 1...12 for libdeflate, 1...9 for zlib (0 stores).
  public init(implementation: DeflateImplementation, level: Int) throws(CramfsError) {
    self.implementation = implementation
    self.level = level
    switch implementation {
    case .libdeflate:
      guard (0...12).contains(level), let compressor = libdeflate_alloc_compressor(Int32(level)) else {
        throw CramfsError(.invalidArgument, "compression level \(level) is not valid for libdeflate (0-12)")
      }
      libdeflate = compressor
    case .zlib:
      guard (0...9).contains(level) else {
        throw CramfsError(.invalidArgument, "compression level \(level) is not valid for zlib (0-9)")
      }
      libdeflate = nil
    }
  }

  deinit {
    if let libdeflate { libdeflate_free_compressor(libdeflate) }
  }

  /// The largest output `compress` can produce for `inputCount` bytes.
  public func bound(_ inputCount: Int) -> Int {
    if let libdeflate { return libdeflate_zlib_compress_bound(libdeflate, inputCount) }
    return Int(compressBound(UInt(inputCount)))
  }

  /// Compresses `input` into a zlib stream appended to `output`; returns the stream's length.
  @discardableResult
  public func compress(_ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) -> Int {
    let start = output.count
    let capacity = bound(input.count)
    output.append(contentsOf: repeatElement(0, count: capacity))
    let written = output.withUnsafeMutableBytes { out -> Int in
      let destination = out.baseAddress! + start
      if let libdeflate {
        return libdeflate_zlib_compress(libdeflate, input.baseAddress, input.count, destination, capacity)
      }
      var length = UInt(capacity)
      let status = compress2(
        destination.assumingMemoryBound(to: Bytef.self), &length,
        input.baseAddress?.assumingMemoryBound(to: Bytef.self), UInt(input.count), Int32(level))
      return status == Z_OK ? Int(length) : 0
    }
    // Neither fails when given `bound` bytes of room; 0 would mean a broken library.
    precondition(written > 0, "deflate failed with a sufficient output buffer")
    output.removeLast(capacity - written)
    return written
  }
}

/// Inflates zlib streams. Not thread-safe: one per thread or task.
package final class BlockDecompressor {
  private let decompressor: OpaquePointer

  public init() {
    guard let decompressor = libdeflate_alloc_decompressor() else {
      fatalError("libdeflate could not allocate a decompressor (out of memory)")
    }
    self.decompressor = decompressor
  }

  deinit { libdeflate_free_decompressor(decompressor) }

  /// What inflating one stream gave.
  public enum Outcome: Equatable, Sendable {
    case produced(Int)
    /// The stream is not valid zlib.
    case invalid
    /// The stream inflates to more bytes than the output holds.
    case tooLarge
  }

  /// Inflates the zlib stream in `input` into `output`, without throwing.
  public func inflate(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Outcome {
    var produced = 0
    var consumed = 0
    let result = libdeflate_zlib_decompress_ex(
      decompressor, input.baseAddress, input.count, output.baseAddress, output.count, &consumed, &produced)
    switch result {
    case LIBDEFLATE_SUCCESS: return .produced(produced)
    case LIBDEFLATE_INSUFFICIENT_SPACE: return .tooLarge
    default: return .invalid
    }
  }

  /// Inflates the zlib stream in `input` into `output`; returns the number of bytes produced.
  ///
  /// - Throws: `CramfsError/Code/compression` when the stream is invalid or inflates to more than
  ///   `output.count` bytes.
  public func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(CramfsError) -> Int {
    switch inflate(input, into: output) {
    case .produced(let count): return count
    case .tooLarge: throw CramfsError(.compression, Self.describe(.tooLarge, capacity: output.count))
    case .invalid: throw CramfsError(.compression, Self.describe(.invalid, capacity: output.count))
    }
  }

  /// The message for a failed outcome.
  public static func describe(_ outcome: Outcome, capacity: Int) -> String {
    switch outcome {
    case .tooLarge: "block inflates to more than \(capacity) bytes"
    case .invalid: "block is not a valid zlib stream"
    case .produced(let count): "block inflates to \(count) bytes"
    }
  }
}

/// CRC-32 as zlib's `crc32` computes it (the superblock's `fsid.crc`).
package func crc32Checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
  libdeflate_crc32(crc, bytes.baseAddress, bytes.count)
}
