import Logging
import MicoAuthProxy
import MicoIO

/// Keeps systemd's `STATUS=` line (shown by `systemctl status`) in step with the token: the state is looked at every
/// second; a new kind of state (valid, failing, …) is sent at once, a changed text of the same kind (time left,
/// retry countdown) at most every 5 seconds.
enum TokenStatusReporter {
    static func run(tokens: TokenCache, notifier: SystemdNotifier, logger: Logger) async {
        var lastKind: Kind?
        var lastText = ""
        var lastSent = ContinuousClock.now
        var failed = false
        while !Task.isCancelled {
            let status = tokens.status
            let text = status.description
            let now = ContinuousClock.now
            let kind = Kind(status)
            if kind != lastKind || (text != lastText && now - lastSent >= .seconds(5)) {
                do {
                    try notifier.status(text)
                    failed = false
                } catch {
                    if !failed { logger.warning("cannot send the status line to systemd: \(error)") }
                    failed = true
                }
                (lastKind, lastText, lastSent) = (kind, text, now)
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    private enum Kind {
        case notStarted, fetching, valid, refreshing, failing, failingWithToken, expired, stopped

        init(_ status: TokenStatus) {
            switch status {
            case .notStarted: self = .notStarted
            case .fetching: self = .fetching
            case .valid: self = .valid
            case .refreshing: self = .refreshing
            case .failing(_, _, let left): self = left == nil ? .failing : .failingWithToken
            case .expired: self = .expired
            case .stopped: self = .stopped
            }
        }
    }
}
