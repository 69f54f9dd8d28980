import CMicoSystem
import Glibc
import MicoIO
import Testing

/// Between trims, memory freed at the top of an arena stays there for the next allocation instead of going back
/// to the kernel and being faulted in again. Checked to fail without `keepFreedMemoryUntilTrimmed()` when run
/// alone (about 190 faults); in the full suite another test's large free may have raised glibc's own threshold.
@Suite("Freed memory kept until the trim")
struct FreedMemoryReturnerTests {
    /// Minor page faults of the calling thread so far (`minflt`, field 10 of `/proc/thread-self/stat`).
    static func threadPageFaults() -> Int {
        let text = threadSelfFile("stat")
        // The name (field 2) is in parentheses and may hold spaces: count from the last ")".
        guard let close = text.lastIndex(of: ")") else { return -1 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        return fields.count > 7 ? Int(fields[7]) ?? -1 : -1
    }

    /// Allocates `count` blocks of 64 KiB (below glibc's smallest threshold for a mapping of their own), touches
    /// every page, and frees them: together they make a free top of the arena, as a replay body's parts do.
    static func touchAndFree(blocks count: Int) {
        let size = 64 << 10
        let blocks = (0..<count).map { _ in malloc(size)! }
        for block in blocks { memset(block, 1, size) }
        for block in blocks.reversed() { free(block) }
    }

    @Test("768 KiB freed in 64 KiB blocks and allocated again is not faulted in again")
    func freedBlocksAreReused() {
        FreedMemoryReturner.keepFreedMemoryUntilTrimmed()
        var fewest = Int.max
        // Synchronous from here: one thread, so its own fault count. Several tries, in case another test's
        // allocations on a shared arena took the memory meanwhile.
        for _ in 0..<5 {
            Self.touchAndFree(blocks: 12)
            let before = Self.threadPageFaults()
            Self.touchAndFree(blocks: 12)
            fewest = min(fewest, Self.threadPageFaults() - before)
        }
        #expect(fewest >= 0, "no fault count for this thread")
        // 192 pages; a handful of faults is other memory the loop touched.
        #expect(fewest < 16, "the second round was faulted in again: \(fewest) page faults")
    }
}
