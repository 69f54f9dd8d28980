import Dispatch
import Synchronization

/// A ``SocketChannel``'s readiness: what its epoll events said, who waits for them, and the timer that keeps the
/// waits' deadlines (see ``SocketChannel`` for the rules). Its loop's registration and the timer's handler hold it
/// strongly and the channel holds it, never the other way round; the channel is referenced only strongly, so its
/// retains and releases stay on the runtime's fast path (an object that was ever referenced weakly gets a side
/// table, and every retain and release of it takes a slower one).
final class SocketReadiness: Sendable {
    struct Waiter {
        var continuation: UnsafeContinuation<Void, any Error>
        var deadline: DispatchTime
    }

    struct State {
        /// Input may be waiting: an input event came since the last read attempt began, or that attempt filled its
        /// whole buffer. A new socket starts with it set.
        var inputPending = true
        /// The peer shut down its side (or the socket failed): a read never needs to wait again, and the end of
        /// stream may have come with the last data, in the same event, after a read that looked like it emptied
        /// the socket.
        var inputEnded = false
        /// Something other than `read` reads the descriptor (OpenSSL, through `beginReadAttempt()`): a read attempt
        /// that found input does not tell whether it emptied the socket.
        var readElsewhere = false
        /// An output event came while no write waited: the next write wait returns at once.
        var writable = false
        var readWaiter: Waiter?
        var writeWaiter: Waiter?
        /// Its handler holds this object: whoever cancels it sets it to nil too.
        var timer: (any DispatchSourceTimer)?
        /// When the timer fires next; `.distantFuture` when it is not set.
        var timerDeadline = DispatchTime.distantFuture
        var closed = false
    }

    enum Direction { case read, write }

    let state = Mutex(State())
    /// The loop's queue, where the deadline timer fires.
    private let timerQueue: DispatchQueue

    init(timerQueue: DispatchQueue) {
        self.timerQueue = timerQueue
    }

    /// Stores the waiter; or answers at once when the channel is closed or an event already came.
    func arm(_ direction: Direction, _ waiter: Waiter) -> Result<Void, IOError>? {
        state.withLock { state in
            guard !state.closed else {
                return .failure(IOError(.closed, call: direction == .read ? "read" : "write"))
            }
            switch direction {
            case .read:
                precondition(state.readWaiter == nil, "two concurrent reads on one channel")
                if state.inputPending || state.inputEnded { return .success(()) }
                state.readWaiter = waiter
            case .write:
                precondition(state.writeWaiter == nil, "two concurrent writes on one channel")
                if state.writable {
                    state.writable = false
                    return .success(())
                }
                state.writeWaiter = waiter
            }
            if waiter.deadline < state.timerDeadline { setTimer(waiter.deadline, &state) }
            return nil
        }
    }

    /// Takes an event for the socket (on the loop's queue): wakes the waiters it concerns, or remembers it.
    /// `input`: readable, end of stream or error; `output`: writable or error; `ended`: the peer shut down its side,
    /// or the socket failed.
    func deliver(input: Bool, output: Bool, ended: Bool) {
        let (reader, writer) = state.withLock { state -> (Waiter?, Waiter?) in
            var reader: Waiter?
            var writer: Waiter?
            if input {
                reader = state.readWaiter
                state.readWaiter = nil
                state.inputPending = true
            }
            if ended { state.inputEnded = true }
            if output {
                writer = state.writeWaiter
                state.writeWaiter = nil
                state.writable = writer == nil
            }
            return (reader, writer)
        }
        reader?.continuation.resume()
        writer?.continuation.resume()
    }

    private func setTimer(_ deadline: DispatchTime, _ state: inout State) {
        if let timer = state.timer {
            timer.schedule(deadline: deadline, leeway: .milliseconds(5))
        } else {
            let timer = DispatchSource.makeTimerSource(queue: timerQueue)
            // A strong reference, released when the timer is cancelled (the channel's `close()` or deinit).
            timer.setEventHandler { self.timerFired() }
            timer.schedule(deadline: deadline, leeway: .milliseconds(5))
            timer.resume()
            state.timer = timer
        }
        state.timerDeadline = deadline
    }

    /// Fails the waits that are due and sets the timer for the earliest one left.
    private func timerFired() {
        let now = DispatchTime.now()
        let expired = state.withLock { state -> [(Waiter, String)] in
            state.timerDeadline = .distantFuture
            var expired: [(Waiter, String)] = []
            if let waiter = state.readWaiter, waiter.deadline <= now {
                state.readWaiter = nil
                expired.append((waiter, "read"))
            }
            if let waiter = state.writeWaiter, waiter.deadline <= now {
                state.writeWaiter = nil
                expired.append((waiter, "write"))
            }
            let next = [state.readWaiter?.deadline, state.writeWaiter?.deadline].compactMap { $0 }.min()
            if let next, next != .distantFuture, !state.closed { setTimer(next, &state) }
            return expired
        }
        for (waiter, call) in expired {
            waiter.continuation.resume(throwing: IOError(.timedOut, call: call))
        }
    }
}
