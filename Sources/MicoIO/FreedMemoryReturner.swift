import CMicoSystem
import Dispatch

/// Gives memory freed after a burst of load back to the system now and then (`malloc_trim(0)`).
///
/// glibc keeps freed heap memory for reuse, in every thread's arena; after a peak (many clients, large bodies) a
/// long-running daemon would keep its peak resident size forever. The benchmark measured 63 MiB with 1,000 idle
/// clients after its load runs against 40 MiB on a fresh process. Trimming walks the free lists of every arena and
/// returns whole free pages; every few seconds it costs next to nothing.
///
/// Between trims, `free` keeps up to 1 MiB free at the top of each arena (see ``keepFreedMemoryUntilTrimmed()``).
// @unchecked Sendable: `timer` is set once in `init` and only cancelled afterwards (cancel is thread-safe).
public final class FreedMemoryReturner: @unchecked Sendable {
    /// The free memory an arena may hold at its top before `free` gives it back, and the size from which an
    /// allocation gets a mapping of its own, once ``keepFreedMemoryUntilTrimmed()`` has set them.
    public static let keptBetweenTrims: Int32 = 1 << 20

    private let timer: any DispatchSourceTimer

    /// Makes `free` keep freed memory for the next allocations rather than give it back to the kernel at once;
    /// the trims give it back instead. glibc gives an arena's top back as soon as it exceeds 128 KiB (a threshold
    /// it raises as large blocks are freed), which in this proxy happened at the end of every request with a body
    /// of a few hundred KiB: the body kept for a 401 replay was freed, the top of the loop thread's arena handed
    /// back with `madvise` (a TLB shootdown on the other cores), and the next request faulted the same pages in
    /// again (strace: one `madvise` of about 200 KiB per 256 KiB POST). Allocations up to 1 MiB (the default limit
    /// of a replay body) come from the arenas too, not from a mapping made and unmade each time. Not more: the trim
    /// gives back free memory inside an arena but not the top of a thread's arena, which `free` alone returns once
    /// it exceeds the threshold (with 4 MiB the process held 1.6 MiB more after a load had settled; with 1 MiB, 0.3).
    public static func keepFreedMemoryUntilTrimmed() {
        _ = CMicoSystem_mallopt(M_TRIM_THRESHOLD, keptBetweenTrims)
        _ = CMicoSystem_mallopt(M_MMAP_THRESHOLD, keptBetweenTrims)
    }

    /// Keeps freed memory between trims and starts trimming every `intervalSeconds`.
    public init(intervalSeconds: Int = 10) {
        Self.keepFreedMemoryUntilTrimmed()
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "mico.memory"))
        let interval = DispatchTimeInterval.seconds(intervalSeconds)
        timer.schedule(deadline: .now() + interval, repeating: interval, leeway: .seconds(1))
        timer.setEventHandler { CMicoSystem_return_freed_memory() }
        timer.resume()
    }

    deinit { timer.cancel() }

    public func stop() { timer.cancel() }
}
