import Dispatch
import Synchronization

/// Sends `WATCHDOG=1` at a fixed interval for as long as the machinery that serves connections keeps turning, so that
/// systemd's `WatchdogSec=` restarts a wedged daemon instead of a merely busy one.
///
/// Each ping makes the trip a connection's work makes: a Dispatch timer fires, then a task runs on one of the
/// ``IOLoop``s that serve the connections (each ping on the next loop in turn). If a loop is wedged, its pings stop.
/// At most one ping is on its way at a time, so a wedged loop does not pile up tasks.
// @unchecked Sendable: `timer` is set once in `init` and only cancelled afterwards (cancel is thread-safe);
// the pending flag is a Mutex.
public final class SystemdWatchdog: @unchecked Sendable {
    /// Whether a ping is on its way (scheduled on a loop, not yet sent).
    private final class Pending: Sendable {
        let flag = Mutex(false)
    }

    private let timer: DispatchSourceTimer

    /// Starts pinging through `notifier` every `intervalMicroseconds` (half of `WATCHDOG_USEC`); the first ping is
    /// sent one interval from now. `onError` hears failed sends.
    public init(
        notifier: SystemdNotifier, intervalMicroseconds: UInt64,
        onError: @escaping @Sendable (IOError) -> Void = { _ in }
    ) {
        let queue = DispatchQueue(label: "mico.watchdog")
        let interval = DispatchTimeInterval.microseconds(Int(min(intervalMicroseconds, UInt64(Int32.max))))
        timer = DispatchSource.makeTimerSource(queue: queue)
        let leeway = DispatchTimeInterval.microseconds(Int(min(intervalMicroseconds / 20, UInt64(Int32.max))))
        timer.schedule(deadline: .now() + interval, repeating: interval, leeway: leeway)
        let pending = Pending()
        timer.setEventHandler {
            let alreadyPending = pending.flag.withLock { busy in
                defer { busy = true }
                return busy
            }
            guard !alreadyPending else { return }
            IOLoop.next().spawn {
                pending.flag.withLock { $0 = false }
                do throws(IOError) {
                    try notifier.watchdog()
                } catch {
                    onError(error)
                }
            }
        }
        timer.resume()
    }

    deinit { timer.cancel() }

    /// Stops the pings (before `STOPPING=1`, or when the process is about to exit).
    public func stop() {
        timer.cancel()
    }
}
