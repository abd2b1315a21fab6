import Synchronization

/// A bounded cache of decompressed blocks, shared by the threads that serve one mount.
///
///     let cache = BlockCache(capacityBytes: 32 << 20, blockSize: 4096)
///     if !cache.copy(key, range: 0..<4096, to: destination) { /* decompress, then */ cache.insert(key, from: bytes, count: 4096) }
///
/// Blocks are keyed by where their compressed bytes sit and how long they inflate (``key(start:length:)``),
/// so deduplicated files share entries. The slots are split into shards, each behind its own lock, and
/// evicted in CLOCK order (an approximation of least recently used). Memory is allocated once, up front.
public final class BlockCache: @unchecked Sendable {
  // @unchecked: each shard's slot memory is touched only while that shard's mutex is held.
  private let shards: [Shard]
  private let shardMask: UInt64
  /// Bytes per slot: the image's block size.
  public let blockSize: Int
  /// Slots over all shards.
  public let capacity: Int

  /// Creates a cache of about `capacityBytes` (at least one block per shard).
  public init(capacityBytes: Int, blockSize: Int, shardCount: Int = 16) {
    var count = 1
    while count < max(1, shardCount) { count <<= 1 }
    let slotsPerShard = max(1, capacityBytes / blockSize / count)
    shards = (0..<count).map { _ in Shard(slots: slotsPerShard, blockSize: blockSize) }
    shardMask = UInt64(count - 1)
    self.blockSize = blockSize
    capacity = slotsPerShard * count
  }

  /// The key of a compressed block stored at image offset `start` that inflates to `length` bytes.
  public static func key(start: Int, length: Int) -> UInt64 {
    UInt64(truncatingIfNeeded: start) << 21 | UInt64(truncatingIfNeeded: length) & 0x1F_FFFF
  }

  private func shard(_ key: UInt64) -> Shard {
    shards[Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 40 & shardMask)]
  }

  /// Copies `range` of the cached block `key` to `destination`; false (and nothing copied) on a miss.
  public func copy(_ key: UInt64, range: Range<Int>, to destination: UnsafeMutableRawPointer) -> Bool {
    shard(key).copy(key, range: range, to: destination)
  }

  /// Stores `count` bytes (at most a block) as block `key`, evicting an older block if the shard is full.
  public func insert(_ key: UInt64, from source: UnsafeRawPointer, count: Int) {
    guard count <= blockSize else { return }
    shard(key).insert(key, from: source, count: count)
  }

  /// Number of blocks held now (for tests and statistics).
  public var count: Int { shards.reduce(0) { $0 + $1.count } }
}

/// One lock's worth of cache slots.
private final class Shard: @unchecked Sendable {
  struct State {
    var index: [UInt64: Int] = [:]
    var keys: [UInt64]
    var lengths: [Int]
    var referenced: [Bool]
    var used = 0
    var hand = 0
  }

  let storage: UnsafeMutableRawPointer
  let blockSize: Int
  let slots: Int
  let state: Mutex<State>

  init(slots: Int, blockSize: Int) {
    self.slots = slots
    self.blockSize = blockSize
    storage = UnsafeMutableRawPointer.allocate(byteCount: slots * blockSize, alignment: 64)
    var initial = State(keys: Array(repeating: 0, count: slots), lengths: Array(repeating: 0, count: slots), referenced: Array(repeating: false, count: slots))
    initial.index.reserveCapacity(slots)
    state = Mutex(initial)
  }

  deinit { storage.deallocate() }

  var count: Int { state.withLock { $0.used } }

  func copy(_ key: UInt64, range: Range<Int>, to destination: UnsafeMutableRawPointer) -> Bool {
    state.withLock { state in
      guard let slot = state.index[key], range.lowerBound >= 0, range.upperBound <= state.lengths[slot] else { return false }
      state.referenced[slot] = true
      destination.copyMemory(from: storage + slot * blockSize + range.lowerBound, byteCount: range.count)
      return true
    }
  }

  func insert(_ key: UInt64, from source: UnsafeRawPointer, count: Int) {
    state.withLock { state in
      if state.index[key] != nil { return }
      let slot: Int
      if state.used < slots {
        slot = state.used
        state.used += 1
      } else {
        // CLOCK: pass over recently used slots once, clearing their mark, and take the first unmarked one.
        while state.referenced[state.hand] {
          state.referenced[state.hand] = false
          state.hand = (state.hand + 1) % slots
        }
        slot = state.hand
        state.hand = (state.hand + 1) % slots
        state.index[state.keys[slot]] = nil
      }
      (storage + slot * blockSize).copyMemory(from: source, byteCount: count)
      state.keys[slot] = key
      state.lengths[slot] = count
      state.referenced[slot] = false
      state.index[key] = slot
    }
  }
}
