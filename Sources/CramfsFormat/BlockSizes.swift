/// The block sizes of cramfs. An image does not record its block size: the kernel reads it with
/// `PAGE_SIZE`, so an image works only on kernels whose page size equals its block size.
public enum BlockSizes {
  /// The page sizes Linux runs cramfs with, which the builder writes: 4, 16 and 64 KiB.
  public static let buildable = [4096, 16384, 65536]
  /// The sizes a reader tries, in order, when it detects an image's block size.
  public static let candidates = [4096, 16384, 65536, 8192, 32768]
  /// The sizes a reader accepts when told one: powers of two in this range.
  public static let readable = 512...(1 << 20)
  /// ``readable`` in words, for messages.
  public static let readableDescription = "a power of two from 512 to 1048576"

  /// Whether `size` is a block size a reader accepts (a power of two in ``readable``).
  public static func isReadable(_ size: Int) -> Bool { readable.contains(size) && size & (size - 1) == 0 }
}
