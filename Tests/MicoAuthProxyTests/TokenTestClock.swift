import MicoAuthProxy
import Synchronization

/// A boot clock that moves only when a test says so.
final class TokenTestClock: BootClock {
    private let seconds: Mutex<Double>

    init(_ start: Double = 1000) {
        seconds = Mutex(start)
    }

    func now() -> Double { seconds.withLock { $0 } }

    /// Moves the clock without firing timers, as a suspend does for the refresh timer.
    func advance(by delta: Double) {
        seconds.withLock { $0 += delta }
    }

    func set(_ value: Double) {
        seconds.withLock { $0 = max($0, value) }
    }
}
