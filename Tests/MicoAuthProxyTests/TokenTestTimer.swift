import MicoAuthProxy
import Synchronization

/// A ``TokenTimer`` that fires only from ``advance(by:)``, moving a ``TokenTestClock`` along.
final class TokenTestTimer: TokenTimer {
    private struct Entry {
        var id: Int
        var fireAt: Double
        var action: @Sendable () -> Void
    }

    private struct State {
        var entries: [Entry] = []
        var nextID = 0
    }

    let clock: TokenTestClock
    private let state = Mutex(State())

    init(clock: TokenTestClock) {
        self.clock = clock
    }

    func schedule(after seconds: Double, _ action: @escaping @Sendable () -> Void) -> any TokenTimerHandle {
        let fireAt = clock.now() + seconds
        let id = state.withLock { state in
            state.nextID += 1
            state.entries.append(Entry(id: state.nextID, fireAt: fireAt, action: action))
            return state.nextID
        }
        return Handle(timer: self, id: id)
    }

    /// Delays from now of the armed timers, shortest first.
    var pendingDelays: [Double] {
        let now = clock.now()
        return state.withLock { $0.entries.map { $0.fireAt - now } }.sorted()
    }

    /// Moves the clock forward by `delta`, firing due timers in deadline order, each at its own time.
    /// Actions run outside the timer's lock, as a real timer runs them.
    func advance(by delta: Double) {
        let target = clock.now() + delta
        while true {
            let due: Entry? = state.withLock { state in
                let ready = state.entries.enumerated().filter { $0.element.fireAt <= target }
                guard
                    let first = ready.min(by: {
                        ($0.element.fireAt, $0.element.id) < ($1.element.fireAt, $1.element.id)
                    })
                else { return nil }
                return state.entries.remove(at: first.offset)
            }
            guard let due else { break }
            clock.set(due.fireAt)
            due.action()
        }
        clock.set(target)
    }

    fileprivate func cancel(_ id: Int) {
        state.withLock { $0.entries.removeAll { $0.id == id } }
    }

    private struct Handle: TokenTimerHandle {
        let timer: TokenTestTimer
        let id: Int

        func cancel() { timer.cancel(id) }
    }
}
