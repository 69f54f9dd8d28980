import Dispatch
import Glibc

extension DispatchTime {
    /// The time `seconds` from now on Dispatch's clock (CLOCK_MONOTONIC), read at the clock's coarse resolution.
    ///
    /// CLOCK_MONOTONIC_COARSE is the same clock as of the last timer tick (a few milliseconds at most behind) and
    /// costs a fraction of a precise read. For I/O deadlines of seconds, made for every read and write of every
    /// request, a deadline at most a tick early is as good; use `now()` where milliseconds matter.
    public static func deadline(in seconds: Double) -> DispatchTime {
        // Past about 30 years (or not a number): never.
        guard seconds < 1e9 else { return .distantFuture }
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC_COARSE, &now)
        let nanoseconds = UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
        return DispatchTime(uptimeNanoseconds: nanoseconds + UInt64(max(0, seconds) * 1e9))
    }

    /// Seconds from this time to `later` (0 when `later` is earlier): a duration to report, from two `now()`
    /// readings, in plain integer arithmetic.
    public func seconds(to later: DispatchTime) -> Double {
        let (elapsed, overflow) = later.uptimeNanoseconds.subtractingReportingOverflow(uptimeNanoseconds)
        return overflow ? 0 : Double(elapsed) / 1e9
    }
}
