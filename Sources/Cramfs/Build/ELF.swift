/// The parts of an ELF file that decide its XIP blocks: the class, the byte order and the
/// program headers (`PT_LOAD` segments with their file ranges and permissions).
///
///     let header = try ELFHeader(parsing: firstBytes)   // nil: not ELF
///     let ranges = header?.programHeaders(in: tableBytes).filter(\.isReadOnlyLoad)
///
/// ELF32 and ELF64 in either byte order, whatever the host's: an image for a big-endian target is
/// built on a little-endian host. Pure: the caller reads the bytes.
struct ELFHeader: Hashable, Sendable {
  /// `ELFCLASS32` or `ELFCLASS64`.
  var is64Bit: Bool
  var byteOrder: ByteOrder
  /// `e_phoff`: offset of the program header table.
  var programHeaderOffset: Int
  /// `e_phentsize`.
  var programHeaderSize: Int
  /// `e_phnum`.
  var programHeaderCount: Int

  /// Bytes of the ELF header needed to parse it (the ELF64 header is 64 bytes).
  static let maxHeaderSize = 64
  static let magic: [UInt8] = [0x7F, 0x45, 0x4C, 0x46]  // "\x7fELF"

  /// Parses the header at the start of `bytes`; nil when it is not an ELF header we understand
  /// (other magic, unknown class or byte order, truncated, or program headers too small to hold the
  /// fields we read).
  init?(parsing bytes: [UInt8]) {
    guard bytes.count >= 52, Array(bytes[0..<4]) == Self.magic else { return nil }
    switch bytes[5] {
    case 1: byteOrder = .little  // ELFDATA2LSB
    case 2: byteOrder = .big  // ELFDATA2MSB
    default: return nil
    }
    switch bytes[4] {
    case 1:  // ELFCLASS32
      is64Bit = false
      programHeaderOffset = Int(Self.read32(bytes, 28, byteOrder))
      programHeaderSize = Int(Self.read16(bytes, 42, byteOrder))
      programHeaderCount = Int(Self.read16(bytes, 44, byteOrder))
      guard programHeaderSize >= 32 else { return nil }
    case 2:  // ELFCLASS64
      guard bytes.count >= 64 else { return nil }
      is64Bit = true
      let offset = Self.read64(bytes, 32, byteOrder)
      guard offset < 1 << 40 else { return nil }
      programHeaderOffset = Int(offset)
      programHeaderSize = Int(Self.read16(bytes, 54, byteOrder))
      programHeaderCount = Int(Self.read16(bytes, 56, byteOrder))
      guard programHeaderSize >= 56 else { return nil }
    default:
      return nil
    }
  }

  /// Bytes of the program header table.
  var programHeaderTableSize: Int { programHeaderSize * programHeaderCount }

  /// Decodes the program header table (`programHeaderTableSize` bytes read at `programHeaderOffset`).
  func programHeaders(in table: [UInt8]) -> [ELFProgramHeader] {
    var headers: [ELFProgramHeader] = []
    for index in 0..<programHeaderCount {
      let base = index * programHeaderSize
      guard base + programHeaderSize <= table.count else { break }
      if is64Bit {
        headers.append(
          ELFProgramHeader(
            type: Self.read32(table, base, byteOrder),
            flags: Self.read32(table, base + 4, byteOrder),
            offset: Self.read64(table, base + 8, byteOrder),
            fileSize: Self.read64(table, base + 32, byteOrder)))
      } else {
        headers.append(
          ELFProgramHeader(
            type: Self.read32(table, base, byteOrder),
            flags: Self.read32(table, base + 24, byteOrder),
            offset: UInt64(Self.read32(table, base + 4, byteOrder)),
            fileSize: UInt64(Self.read32(table, base + 16, byteOrder))))
      }
    }
    return headers
  }

  static func read16(_ bytes: [UInt8], _ at: Int, _ order: ByteOrder) -> UInt16 {
    let (a, b) = (UInt16(bytes[at]), UInt16(bytes[at + 1]))
    return order == .little ? a | b << 8 : a << 8 | b
  }

  static func read32(_ bytes: [UInt8], _ at: Int, _ order: ByteOrder) -> UInt32 {
    let (a, b) = (UInt32(read16(bytes, at, order)), UInt32(read16(bytes, at + 2, order)))
    return order == .little ? a | b << 16 : a << 16 | b
  }

  static func read64(_ bytes: [UInt8], _ at: Int, _ order: ByteOrder) -> UInt64 {
    let (a, b) = (UInt64(read32(bytes, at, order)), UInt64(read32(bytes, at + 4, order)))
    return order == .little ? a | b << 32 : a << 32 | b
  }
}

/// One program header (`Elf32_Phdr` / `Elf64_Phdr`), the fields XIP needs.
struct ELFProgramHeader: Hashable, Sendable {
  /// `p_type`; `PT_LOAD` is 1.
  var type: UInt32
  /// `p_flags`: `PF_X` 1, `PF_W` 2, `PF_R` 4.
  var flags: UInt32
  /// `p_offset`: where the segment's bytes start in the file.
  var offset: UInt64
  /// `p_filesz`: bytes of the segment in the file.
  var fileSize: UInt64

  static let load: UInt32 = 1
  static let writable: UInt32 = 2
  static let readable: UInt32 = 4

  /// A loadable segment the target maps read-only: what `-X` stores direct and uncompressed.
  var isReadOnlyLoad: Bool {
    type == Self.load && flags & Self.readable != 0 && flags & Self.writable == 0 && fileSize > 0
  }

  /// The blocks of a `fileLength`-byte file that overlap `[p_offset, p_offset + p_filesz)`.
  func blocks(blockSize: Int, fileLength: Int) -> Range<Int> {
    let start = min(offset, UInt64(fileLength))
    let end = min(offset &+ fileSize, UInt64(fileLength))
    guard end > start, offset &+ fileSize >= offset else { return 0..<0 }
    let first = Int(start) / blockSize
    let last = (Int(end) + blockSize - 1) / blockSize
    return first..<last
  }
}
