import CramfsFUSE
import Testing

@Suite struct BlockCacheTests {
  @Test func holdsAtMostItsCapacityAndReturnsWhatWasStored() {
    let cache = BlockCache(capacityBytes: 64 * 4096, blockSize: 4096, shardCount: 4)
    #expect(cache.capacity == 64)
    var block = [UInt8](repeating: 0, count: 4096)
    for key in 0..<1000 {
      for index in block.indices { block[index] = UInt8(truncatingIfNeeded: key &+ index) }
      block.withUnsafeBytes { cache.insert(BlockCache.key(start: key * 8, length: 4096), from: $0.baseAddress!, count: 4096) }
    }
    #expect(cache.count == 64)
    var hits = 0
    var out = [UInt8](repeating: 0, count: 100)
    for key in 0..<1000 {
      let hit = out.withUnsafeMutableBytes { cache.copy(BlockCache.key(start: key * 8, length: 4096), range: 10..<110, to: $0.baseAddress!) }
      if hit {
        hits += 1
        #expect(out == (10..<110).map { UInt8(truncatingIfNeeded: key &+ $0) })
      }
    }
    #expect(hits == 64)
  }
}
