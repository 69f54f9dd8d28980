import Dispatch
import Glibc

/// Waits for SIGTERM or SIGINT through Dispatch signal sources (the default handlers are switched off so the
/// process can stop cleanly), and ignores SIGPIPE: a peer that hangs up is an error result, never a signal.
public enum TerminationSignals {
    /// Ignores SIGPIPE for the whole process. Sockets also send with MSG_NOSIGNAL; this covers everything else.
    public static func ignoreBrokenPipe() {
        signal(SIGPIPE, SIG_IGN)
    }

    /// Suspends until SIGTERM or SIGINT arrives; returns the signal number.
    public static func wait() async -> Int32 {
        await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
            let waiter = SignalWaiter(continuation)
            for number in [SIGTERM, SIGINT] {
                signal(number, SIG_IGN)
                waiter.listen(for: number)
            }
        }
    }
}

/// Resumes one continuation at the first of several signals, then cancels its sources.
// @unchecked Sendable: `continuation` and `sources` are touched only on `queue`.
private final class SignalWaiter: @unchecked Sendable {
    private let queue = DispatchQueue(label: "mico.signals")
    private var continuation: CheckedContinuation<Int32, Never>?
    private var sources: [any DispatchSourceSignal] = []

    init(_ continuation: CheckedContinuation<Int32, Never>) {
        self.continuation = continuation
    }

    func listen(for number: Int32) {
        queue.sync {
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { self.fire(number) }
            sources.append(source)
            source.resume()
        }
    }

    private func fire(_ number: Int32) {
        continuation?.resume(returning: number)
        continuation = nil
        for source in sources { source.cancel() }
        sources = []
    }
}
