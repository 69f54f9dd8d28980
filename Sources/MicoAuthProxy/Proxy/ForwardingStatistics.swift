import Synchronization

/// Counts what the forwarder did beyond forwarding once: replays after a 401 and retries after a closed pooled
/// connection. Shared by reference so the server can report them.
final class ForwardingStatistics: Sendable {
    struct Counts: Sendable, Equatable {
        var replays = 0
        var staleRetries = 0
    }

    private let counts = Mutex(Counts())

    var current: Counts { counts.withLock { $0 } }

    func recordReplay() { counts.withLock { $0.replays += 1 } }

    func recordStaleRetry() { counts.withLock { $0.staleRetries += 1 } }
}
