#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A monotonic clock, in seconds, that keeps counting while the machine is suspended.
///
/// Token expiry is computed on it: after a laptop wakes, a token whose lifetime ran out during the
/// sleep is seen as expired at once, whatever the timers did.
public protocol BootClock: Sendable {
    /// Seconds since an arbitrary fixed origin; never decreases.
    func now() -> Double
}

/// The system's boot clock: `CLOCK_BOOTTIME` on Linux (counts suspend, unlike `CLOCK_MONOTONIC`).
public struct SystemBootClock: BootClock {
    /// Makes the clock.
    public init() {}

    public func now() -> Double {
        var spec = timespec()
        #if os(Linux)
            let id = CLOCK_BOOTTIME
        #else
            let id = CLOCK_MONOTONIC  // Darwin's CLOCK_MONOTONIC already counts sleep.
        #endif
        // clock_gettime cannot fail for a valid clock id and a valid pointer.
        _ = clock_gettime(id, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1_000_000_000
    }
}
