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
        return DispatchTime(uptimeNanoseconds: reading(CLOCK_MONOTONIC_COARSE) + UInt64(max(0, seconds) * 1e9))
    }

    /// Now on Dispatch's clock at the coarse resolution of `deadline(in:)`: for ages of seconds, such as how long a
    /// pooled connection has been idle.
    public static func coarseNow() -> DispatchTime {
        DispatchTime(uptimeNanoseconds: reading(CLOCK_MONOTONIC_COARSE))
    }

    /// Now, as `now()` returns it (CLOCK_MONOTONIC, Dispatch's clock on Linux), read directly: `now()` goes through
    /// `dispatch_time`, which checks and converts its arguments first. For request timings, several per request.
    public static func preciseNow() -> DispatchTime {
        DispatchTime(uptimeNanoseconds: reading(CLOCK_MONOTONIC))
    }

    private static func reading(_ clock: clockid_t) -> UInt64 {
        var now = timespec()
        clock_gettime(clock, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    /// Seconds from this time to `later` (0 when `later` is earlier): a duration to report, from two `now()`
    /// readings, in plain integer arithmetic.
    public func seconds(to later: DispatchTime) -> Double {
        let (elapsed, overflow) = later.uptimeNanoseconds.subtractingReportingOverflow(uptimeNanoseconds)
        return overflow ? 0 : Double(elapsed) / 1e9
    }
}
