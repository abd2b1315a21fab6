import Cramfs

/// Writes small ELF files (header, program headers, then filler bytes) for `-X` tests: ELF32 or ELF64, in
/// either byte order, with `PT_LOAD` segments wherever the test puts them.
public struct ELFWriter: Sendable {
  public struct Segment: Sendable, Hashable {
    /// `PF_X` 1, `PF_W` 2, `PF_R` 4.
    public var flags: UInt32
    public var offset: Int
    public var fileSize: Int
    public var type: UInt32

    public init(flags: UInt32, offset: Int, fileSize: Int, type: UInt32 = 1) {
      self.flags = flags
      self.offset = offset
      self.fileSize = fileSize
      self.type = type
    }

    public static let readExecute: UInt32 = 5
    public static let readOnly: UInt32 = 4
    public static let readWrite: UInt32 = 6

    /// Readable, not writable, loadable: what `-X` stores direct.
    public var isReadOnlyLoad: Bool {
      type == 1 && flags & 4 != 0 && flags & 2 == 0 && fileSize > 0
    }
  }

  public var is64Bit: Bool
  public var byteOrder: ByteOrder

  public init(is64Bit: Bool, byteOrder: ByteOrder) {
    self.is64Bit = is64Bit
    self.byteOrder = byteOrder
  }

  /// An ELF file of `length` bytes: header and program headers at the start, then text-like filler
  /// (compressible, different in every block).
  public func file(length: Int, segments: [Segment], seed: UInt64) -> [UInt8] {
    var random = SeededGenerator(seed: seed)
    var bytes = [UInt8]()
    bytes.reserveCapacity(length)
    let words = ["mov", "add", "ldr", "str", "bl", "ret", "push", "pop", "cmp", "jne", "\n", " "]
    while bytes.count < length {
      bytes.append(contentsOf: words[Int(random.next() % UInt64(words.count))].utf8)
      bytes.append(UInt8(truncatingIfNeeded: random.next() % 64 + 32))
    }
    bytes.removeLast(bytes.count - length)
    let header = self.header(segments: segments)
    bytes.replaceSubrange(0..<header.count, with: header)
    return bytes
  }

  /// The ELF header followed by the program header table.
  public func header(segments: [Segment]) -> [UInt8] {
    var out: [UInt8] = [
      0x7F, 0x45, 0x4C, 0x46, is64Bit ? 2 : 1, byteOrder == .little ? 1 : 2, 1, 0,
    ]
    out += [UInt8](repeating: 0, count: 8)
    let headerSize = is64Bit ? 64 : 52
    let entrySize = is64Bit ? 56 : 32
    append16(&out, 2)  // e_type ET_EXEC
    append16(&out, is64Bit ? 0xB7 : 0x28)  // e_machine: AArch64 / ARM
    append32(&out, 1)  // e_version
    if is64Bit {
      append64(&out, 0x40_0000)  // e_entry
      append64(&out, UInt64(headerSize))  // e_phoff
      append64(&out, 0)  // e_shoff
    } else {
      append32(&out, 0x8000)
      append32(&out, UInt32(headerSize))
      append32(&out, 0)
    }
    append32(&out, 0)  // e_flags
    append16(&out, UInt16(headerSize))  // e_ehsize
    append16(&out, UInt16(entrySize))  // e_phentsize
    append16(&out, UInt16(segments.count))  // e_phnum
    append16(&out, 0)  // e_shentsize
    append16(&out, 0)  // e_shnum
    append16(&out, 0)  // e_shstrndx
    precondition(out.count == headerSize)
    for segment in segments {
      if is64Bit {
        append32(&out, segment.type)
        append32(&out, segment.flags)
        append64(&out, UInt64(segment.offset))
        append64(&out, UInt64(0x40_0000 + segment.offset))  // p_vaddr
        append64(&out, UInt64(0x40_0000 + segment.offset))  // p_paddr
        append64(&out, UInt64(segment.fileSize))
        append64(&out, UInt64(segment.fileSize + 64))  // p_memsz
        append64(&out, 0x1000)  // p_align
      } else {
        append32(&out, segment.type)
        append32(&out, UInt32(segment.offset))
        append32(&out, UInt32(0x8000 + segment.offset))
        append32(&out, UInt32(0x8000 + segment.offset))
        append32(&out, UInt32(segment.fileSize))
        append32(&out, UInt32(segment.fileSize + 64))
        append32(&out, segment.flags)
        append32(&out, 0x1000)
      }
    }
    return out
  }

  private func append16(_ out: inout [UInt8], _ value: UInt16) {
    let bytes = [UInt8(truncatingIfNeeded: value), UInt8(truncatingIfNeeded: value >> 8)]
    out += byteOrder == .little ? bytes : bytes.reversed()
  }

  private func append32(_ out: inout [UInt8], _ value: UInt32) {
    let bytes = (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    out += byteOrder == .little ? bytes : bytes.reversed()
  }

  private func append64(_ out: inout [UInt8], _ value: UInt64) {
    let bytes = (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    out += byteOrder == .little ? bytes : bytes.reversed()
  }
}
