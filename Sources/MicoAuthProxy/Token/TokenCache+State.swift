import Logging

extension TokenCache {
    /// Where the cached token stands; every transition happens under the cache's `storage` lock.
    ///
    /// `empty → fetching → valid → refreshing → valid …`; a failed fetch leads to `failed`, which keeps
    /// a token that is still valid, and its retry timer leads back to `fetching` or `refreshing`.
    /// Exactly the `fetching` and `refreshing` states have a fetch in flight.
    enum State: Sendable {
        /// No token, no fetch (before ``TokenCache/start()``, or after a held token was found expired).
        case empty
        /// A fetch is in flight and no valid token is held.
        case fetching
        /// A token is held; the refresh timer is armed.
        case valid(AccessToken)
        /// A fetch is in flight while the held token keeps being served.
        case refreshing(AccessToken)
        /// The last fetch failed; the retry timer is armed. `token` is a token that may still be valid.
        case failed(Failure, token: AccessToken?)
        /// ``TokenCache/shutdown()`` was called: no fetch, no timer, no waiter.
        case stopped

        /// The token held in this state, valid or not.
        var heldToken: AccessToken? {
            switch self {
            case .valid(let token), .refreshing(let token): token
            case .failed(_, let token): token
            case .empty, .fetching, .stopped: nil
            }
        }

        /// The held token if it may be sent at `now`.
        func servableToken(at now: Double) -> AccessToken? {
            heldToken.flatMap { $0.isValid(at: now) ? $0 : nil }
        }
    }

    /// The last failed fetch and when the next one starts.
    struct Failure: Sendable {
        /// Secret-free text of the error.
        var message: String
        /// Boot-clock second of the next attempt.
        var retryAt: Double
        /// Consecutive failures so far, including this one.
        var attempt: Int
    }

    typealias Continuation = CheckedContinuation<Result<AccessToken, TokenUnavailable>, Never>

    /// A `token(waitSeconds:)` call waiting for a fetch.
    struct Waiter: Sendable {
        var continuation: Continuation
        /// Boot-clock second after which the caller gives up.
        var deadline: Double
        /// How long the caller agreed to wait, in seconds.
        var waitSeconds: Double
        var timeout: (any TokenTimerHandle)?
    }

    /// What a call to `token(waitSeconds:)` gets after looking at the state.
    enum Decision {
        case ready(AccessToken)
        case unavailable(TokenUnavailable)
        case wait
    }

    /// Everything the lock guards.
    struct Storage: Sendable {
        var state: State = .empty
        var consecutiveFailures = 0
        /// Text of the most recent failure, cleared by a success; kept while a retry is running.
        var lastError: String?
        /// Boot-clock second at which the last fetch finished, successful or not.
        var lastFetchAt: Double?
        /// Boot-clock second at which the last successful fetch finished.
        var lastSuccessAt: Double?
        var waiters: [UInt64: Waiter] = [:]
        /// Waiter ids handed out but not yet registered, mapped to "cancelled meanwhile".
        var pendingWaiters: [UInt64: Bool] = [:]
        /// The refresh or retry timer; at most one is armed.
        var timer: (id: UInt64, handle: any TokenTimerHandle)?
        var fetchTask: Task<Void, Never>?
        /// Identifies the fetch in flight; results of any other are dropped.
        var fetchID: UInt64 = 0
        var nextID: UInt64 = 0

        mutating func makeID() -> UInt64 {
            nextID &+= 1
            return nextID
        }
    }

    /// Work gathered under the lock and done after releasing it.
    struct Effects: Sendable {
        var resumes: [(Continuation, Result<AccessToken, TokenUnavailable>)] = []
        var logs: [(Logger.Level, String)] = []
        /// Set when a fetch finished: whether it gave a usable token.
        var fetchSucceeded: Bool?

        mutating func log(_ level: Logger.Level, _ message: String) {
            logs.append((level, message))
        }

        func run(_ logger: Logger) {
            for (continuation, result) in resumes {
                continuation.resume(returning: result)
            }
            for (level, message) in logs {
                logger.log(level: level, "\(message)")
            }
        }
    }
}
