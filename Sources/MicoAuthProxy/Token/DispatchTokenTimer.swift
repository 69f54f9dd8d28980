import Dispatch
import Synchronization

/// The production ``TokenTimer``: a one-shot `DispatchSourceTimer` on a wall-clock deadline.
///
/// Wall-clock deadlines (`DispatchWallTime`) keep running while the machine sleeps, so a refresh due
/// during a suspend fires soon after waking; the cache checks expiry on the boot clock anyway.
public struct DispatchTokenTimer: TokenTimer {
    /// Longest delay handed to Dispatch, in seconds (one year); longer ones are shortened to it, which
    /// only makes the cache look at its token earlier.
    public static let maximumDelaySeconds: Double = 365 * 24 * 3600

    private let queue: DispatchQueue

    /// Makes a timer whose actions run on `queue` (default: a private serial queue).
    public init(queue: DispatchQueue = DispatchQueue(label: "mico-auth-proxy.token-timer")) {
        self.queue = queue
    }

    public func schedule(after seconds: Double, _ action: @escaping @Sendable () -> Void) -> any TokenTimerHandle {
        let delay = seconds.isNaN ? 0 : min(max(seconds, 0), Self.maximumDelaySeconds)
        let handle = Handle(source: DispatchSource.makeTimerSource(queue: queue))
        handle.arm(after: delay, action)
        return handle
    }

    private final class Handle: TokenTimerHandle {
        /// The source until it fired or was cancelled; the Mutex makes fire and cancel race-free.
        private let source: Mutex<(any DispatchSourceTimer)?>

        init(source: sending any DispatchSourceTimer) {
            self.source = Mutex(source)
        }

        /// Schedules the source and starts it. The event handler holds the handle (and so the source)
        /// until it runs or is cancelled: Dispatch releases handlers on cancel, which breaks the cycle.
        func arm(after delay: Double, _ action: @escaping @Sendable () -> Void) {
            source.withLock { source in
                guard let source else { return }
                source.schedule(wallDeadline: .now() + delay, leeway: .milliseconds(100))
                source.setEventHandler { if self.finish() { action() } }
                source.activate()
            }
        }

        /// Takes the source for the firing; false if it was cancelled meanwhile.
        func finish() -> Bool {
            // DispatchSource.cancel() neither blocks nor calls back, so it may run under the lock.
            source.withLock { source in
                guard let taken = source.take() else { return false }
                taken.cancel()
                return true
            }
        }

        func cancel() {
            source.withLock { $0.take()?.cancel() }
        }
    }
}
