import Logging
import Synchronization

/// Holds the access token and keeps it fresh: one fetch at a time, proactive refresh before expiry,
/// exponential backoff after failures, and expiry checked on the boot clock at every use.
///
/// Timing rules are in ``TokenRefreshPolicy``. The clock, timer and random source are injected so
/// tests drive time without sleeping. Logs never contain the token.
public final class TokenCache: Sendable {
    private let fetcher: any TokenFetching
    private let policy: TokenRefreshPolicy
    private let clock: any BootClock
    private let timer: any TokenTimer
    private let random: @Sendable () -> Double
    private let logger: Logger
    private let onFetch: (@Sendable (_ succeeded: Bool) -> Void)?
    private let storage = Mutex(Storage())

    /// Makes a cache that fetches through `fetcher`; nothing happens until ``start()`` or ``token(waitSeconds:)``.
    ///
    /// - Parameters:
    ///   - random: returns values in [0, 1) for jitter (see ``TokenRefreshPolicy``).
    ///   - onFetch: told, outside the cache's lock, whether each finished fetch gave a usable token (for metrics).
    ///     Results the cache drops (a fetch superseded or cancelled by ``shutdown()``) are not reported.
    public init(
        fetcher: any TokenFetching,
        policy: TokenRefreshPolicy = TokenRefreshPolicy(),
        clock: any BootClock = SystemBootClock(),
        timer: any TokenTimer = DispatchTokenTimer(),
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        logger: Logger,
        onFetch: (@Sendable (_ succeeded: Bool) -> Void)? = nil
    ) {
        self.fetcher = fetcher
        self.policy = policy
        self.clock = clock
        self.timer = timer
        self.random = random
        self.logger = logger
        self.onFetch = onFetch
    }

    /// Starts the first fetch now, unless one already ran or is running.
    public func start() {
        let effects = storage.withLock { storage in
            var effects = Effects()
            if case .empty = storage.state {
                startFetchLocked(&storage, now: clock.now(), effects: &effects)
            }
            return effects
        }
        effects.run(logger)
    }

    /// A token that is valid now, waiting at most `waitSeconds` for the fetch in flight if none is held.
    ///
    /// Starts a fetch if none is running and no retry is pending. Fails at once when the next retry is
    /// due after the caller's deadline.
    public func token(waitSeconds: Double) async throws(TokenUnavailable) -> AccessToken {
        // Fast path: a valid token is served without suspending. Otherwise a waiter id is reserved, so a
        // cancellation arriving before the waiter is registered is not lost.
        let (held, id): (AccessToken?, UInt64) = storage.withLock { storage in
            if let token = storage.state.servableToken(at: clock.now()) { return (token, 0) }
            let id = storage.makeID()
            storage.pendingWaiters[id] = false
            return (nil, id)
        }
        if let held { return held }
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: Continuation) in
                let effects = storage.withLock { storage in
                    enqueueLocked(&storage, id: id, continuation: continuation, waitSeconds: waitSeconds)
                }
                effects.run(logger)
            }
        } onCancel: {
            cancelWaiter(id)
        }
        return try result.get()
    }

    /// The held token if it is valid now; never waits, never fetches. For readiness checks, and for the forwarder,
    /// which calls ``token(waitSeconds:)`` only when this is nil.
    public func currentValidToken() -> AccessToken? {
        storage.withLock { $0.state.servableToken(at: clock.now()) }
    }

    /// A snapshot of the cache's state for status pages and logs.
    public var status: TokenStatus {
        storage.withLock { storage in
            let now = clock.now()
            switch storage.state {
            case .empty: return .notStarted
            case .fetching: return .fetching
            case .valid(let token):
                return token.isValid(at: now) ? .valid(expiresIn: token.remaining(at: now)) : .expired
            case .refreshing(let token):
                return token.isValid(at: now) ? .refreshing(expiresIn: token.remaining(at: now)) : .fetching
            case .failed(let failure, let token):
                let left = token.flatMap { $0.isValid(at: now) ? $0.remaining(at: now) : nil }
                return .failing(error: failure.message, retryIn: max(0, failure.retryAt - now), tokenExpiresIn: left)
            case .stopped: return .stopped
            }
        }
    }

    /// The token's remaining life and the fetch history, read together, for status pages and metrics.
    public var diagnostics: TokenDiagnostics {
        storage.withLock { storage in
            let now = clock.now()
            return TokenDiagnostics(
                secondsLeft: storage.state.servableToken(at: now)?.remaining(at: now),
                secondsSinceLastFetch: storage.lastFetchAt.map { now - $0 },
                secondsSinceLastSuccess: storage.lastSuccessAt.map { now - $0 },
                lastError: storage.lastError, consecutiveFailures: storage.consecutiveFailures)
        }
    }

    /// Drops `token` if it is still the held one (e.g. the API answered 401 with it) and fetches a new
    /// one unless a fetch is running or a retry is pending. Returns whether the token was dropped.
    @discardableResult
    public func invalidate(_ token: AccessToken) -> Bool {
        let (dropped, effects) = storage.withLock { storage in
            var effects = Effects()
            guard storage.state.heldToken == token else { return (false, effects) }
            switch storage.state {
            case .valid:
                storage.state = .empty
                startFetchLocked(&storage, now: clock.now(), effects: &effects)
            case .refreshing:
                storage.state = .fetching
            case .failed(let failure, _):
                storage.state = .failed(failure, token: nil)
            case .empty, .fetching, .stopped:
                break
            }
            effects.log(.info, "token rejected by the API; dropped it")
            return (true, effects)
        }
        effects.run(logger)
        return dropped
    }

    /// Fetches now unless a fetch is running: skips a pending backoff (e.g. after SIGHUP brought new
    /// credentials). The held token, if valid, keeps being served meanwhile.
    public func retryNow() {
        let effects = storage.withLock { storage in
            var effects = Effects()
            switch storage.state {
            case .fetching, .refreshing, .stopped:
                break
            case .empty, .valid, .failed:
                startFetchLocked(&storage, now: clock.now(), effects: &effects)
            }
            return effects
        }
        effects.run(logger)
    }

    /// Cancels timers and the fetch in flight and fails every waiter; the cache serves nothing afterwards.
    public func shutdown() {
        let effects = storage.withLock { storage in
            var effects = Effects()
            if case .stopped = storage.state { return effects }
            storage.state = .stopped
            storage.timer?.handle.cancel()
            storage.timer = nil
            storage.fetchTask?.cancel()
            storage.fetchTask = nil
            storage.fetchID &+= 1
            let stopped = TokenUnavailable(message: "token cache is shutting down", retryAfterSeconds: 1)
            for waiter in storage.waiters.values {
                waiter.timeout?.cancel()
                effects.resumes.append((waiter.continuation, .failure(stopped)))
            }
            storage.waiters.removeAll()
            return effects
        }
        effects.run(logger)
    }

    /// Callers waiting for a token right now (for metrics and status pages).
    public var waiterCount: Int { storage.withLock { $0.waiters.count } }

    // MARK: - Transitions (all called with the lock held)

    private func enqueueLocked(
        _ storage: inout Storage, id: UInt64, continuation: Continuation, waitSeconds: Double
    ) -> Effects {
        var effects = Effects()
        let cancelled = storage.pendingWaiters.removeValue(forKey: id) ?? false
        if cancelled {
            let error = TokenUnavailable(message: "request cancelled while waiting for a token", retryAfterSeconds: 1)
            effects.resumes.append((continuation, .failure(error)))
            return effects
        }
        let now = clock.now()
        let wait = waitSeconds.isNaN ? 0 : max(0, waitSeconds)
        switch decideLocked(&storage, now: now, deadline: now + wait, effects: &effects) {
        case .ready(let token):
            effects.resumes.append((continuation, .success(token)))
        case .unavailable(let error):
            effects.resumes.append((continuation, .failure(error)))
        case .wait where wait == 0:
            effects.resumes.append((continuation, .failure(unavailableLocked(storage, now: now, waited: 0))))
        case .wait:
            let handle = timer.schedule(after: wait) { [weak self] in self?.waiterTimedOut(id) }
            storage.waiters[id] = Waiter(
                continuation: continuation, deadline: now + wait, waitSeconds: wait, timeout: handle)
        }
        return effects
    }

    private func decideLocked(_ storage: inout Storage, now: Double, deadline: Double, effects: inout Effects)
        -> Decision
    {
        switch storage.state {
        case .stopped:
            return .unavailable(TokenUnavailable(message: "token cache is shutting down", retryAfterSeconds: 1))
        case .valid(let token):
            if token.isValid(at: now) { return .ready(token) }
            // The timer did not fire before expiry: the machine was suspended or the clock jumped.
            effects.log(.info, "token expired before its refresh (suspend?); fetching a new one")
            storage.state = .empty
            startFetchLocked(&storage, now: now, effects: &effects)
            return .wait
        case .refreshing(let token):
            if token.isValid(at: now) { return .ready(token) }
            storage.state = .fetching
            return .wait
        case .fetching:
            return .wait
        case .empty:
            startFetchLocked(&storage, now: now, effects: &effects)
            return .wait
        case .failed(let failure, let token):
            if let token, token.isValid(at: now) { return .ready(token) }
            storage.state = .failed(failure, token: nil)
            if failure.retryAt <= now {
                startFetchLocked(&storage, now: now, effects: &effects)
                return .wait
            }
            if failure.retryAt > deadline {
                return .unavailable(
                    TokenUnavailable(message: failure.message, retryAfterSeconds: failure.retryAt - now))
            }
            return .wait
        }
    }

    private func startFetchLocked(_ storage: inout Storage, now: Double, effects: inout Effects) {
        storage.timer?.handle.cancel()
        storage.timer = nil
        if let token = storage.state.servableToken(at: now) {
            storage.state = .refreshing(token)
        } else {
            storage.state = .fetching
        }
        storage.fetchID &+= 1
        let id = storage.fetchID
        storage.fetchTask = Task { [weak self] in
            await self?.runFetch(id: id, startedAt: now)
        }
    }

    private func runFetch(id: UInt64, startedAt: Double) async {
        let outcome: Result<TokenGrant, any Error>
        do {
            outcome = .success(try await fetcher.fetchToken())
        } catch {
            outcome = .failure(error)
        }
        let effects = storage.withLock { storage in
            finishFetchLocked(&storage, id: id, startedAt: startedAt, outcome: outcome)
        }
        effects.run(logger)
        if let onFetch, let succeeded = effects.fetchSucceeded { onFetch(succeeded) }
    }

    private func finishFetchLocked(
        _ storage: inout Storage, id: UInt64, startedAt: Double, outcome: Result<TokenGrant, any Error>
    ) -> Effects {
        var effects = Effects()
        guard storage.fetchID == id else { return effects }
        switch storage.state {
        case .fetching, .refreshing: break
        case .empty, .valid, .failed, .stopped: return effects
        }
        storage.fetchTask = nil
        let now = clock.now()
        storage.lastFetchAt = now
        switch outcome {
        case .success(let grant):
            // The lifetime counts from when the request was sent: the endpoint started it no earlier.
            let token = AccessToken(
                value: grant.accessToken, obtainedAt: startedAt, expiresAt: startedAt + grant.expiresIn)
            if token.isValid(at: now) {
                succeedLocked(&storage, token: token, now: now, effects: &effects)
            } else {
                let message =
                    "token expired before it arrived (expires_in \(TokenDuration.seconds(grant.expiresIn)), "
                    + "request took \(TokenDuration.seconds(now - startedAt)))"
                failLocked(&storage, message: message, now: now, effects: &effects)
            }
        case .failure(let error):
            let tokenError = error as? TokenError
            failLocked(
                &storage, message: Self.describe(error), now: now,
                rejectedCredentials: tokenError?.rejectsCredentials ?? false,
                retryAfter: tokenError?.retryAfter, effects: &effects)
        }
        return effects
    }

    private func succeedLocked(_ storage: inout Storage, token: AccessToken, now: Double, effects: inout Effects) {
        storage.state = .valid(token)
        storage.consecutiveFailures = 0
        storage.lastError = nil
        storage.lastSuccessAt = now
        effects.fetchSucceeded = true
        let refreshAt = token.obtainedAt + policy.refreshDelay(lifetime: token.lifetime, random: random())
        let delay = max(0, refreshAt - now)
        scheduleLocked(&storage, after: delay)
        for waiter in storage.waiters.values {
            waiter.timeout?.cancel()
            effects.resumes.append((waiter.continuation, .success(token)))
        }
        storage.waiters.removeAll()
        effects.log(
            .info,
            "token obtained, valid for \(TokenDuration.seconds(token.lifetime)), "
                + "next refresh in \(TokenDuration.seconds(delay))")
    }

    /// Records a failed fetch and schedules the next: exponential backoff, at least what the endpoint's
    /// `Retry-After` asked for, or the slow credentials retry when it rejected the credentials.
    private func failLocked(
        _ storage: inout Storage, message: String, now: Double, rejectedCredentials: Bool = false,
        retryAfter: Double? = nil, effects: inout Effects
    ) {
        storage.consecutiveFailures += 1
        effects.fetchSucceeded = false
        let attempt = storage.consecutiveFailures
        let delay =
            rejectedCredentials
            ? policy.credentialsRejectedRetrySeconds
            : max(policy.backoffDelay(attempt: attempt, random: random()), min(retryAfter ?? 0, 3600))
        let retryAt = now + delay
        let held = storage.state.servableToken(at: now)
        storage.state = .failed(Failure(message: message, retryAt: retryAt, attempt: attempt), token: held)
        storage.lastError = message
        scheduleLocked(&storage, after: delay)
        for (id, waiter) in storage.waiters {
            let result: Result<AccessToken, TokenUnavailable>
            if let held {
                result = .success(held)
            } else if waiter.deadline < retryAt {
                result = .failure(TokenUnavailable(message: message, retryAfterSeconds: delay))
            } else {
                continue  // its deadline lies beyond the retry: keep waiting for it
            }
            waiter.timeout?.cancel()
            storage.waiters[id] = nil
            effects.resumes.append((waiter.continuation, result))
        }
        var line = "token fetch failed: \(message); retry in \(TokenDuration.seconds(delay)) (attempt \(attempt))"
        if let held {
            line += "; still serving the current token, valid for \(TokenDuration.seconds(held.remaining(at: now)))"
        }
        effects.log(rejectedCredentials ? .error : .warning, line)
    }

    private func scheduleLocked(_ storage: inout Storage, after delay: Double) {
        storage.timer?.handle.cancel()
        let id = storage.makeID()
        let handle = timer.schedule(after: delay) { [weak self] in self?.timerFired(id) }
        storage.timer = (id, handle)
    }

    private func unavailableLocked(_ storage: Storage, now: Double, waited: Double) -> TokenUnavailable {
        if case .failed(let failure, _) = storage.state {
            return TokenUnavailable(message: failure.message, retryAfterSeconds: failure.retryAt - now)
        }
        var message = "no token yet: the token endpoint did not answer within \(TokenDuration.seconds(waited))"
        if let last = storage.lastError { message += " (last error: \(last))" }
        return TokenUnavailable(message: message, retryAfterSeconds: 1)
    }

    // MARK: - Timer and cancellation callbacks

    private func timerFired(_ id: UInt64) {
        let effects = storage.withLock { storage in
            var effects = Effects()
            guard storage.timer?.id == id else { return effects }
            storage.timer = nil
            switch storage.state {
            case .valid, .failed: startFetchLocked(&storage, now: clock.now(), effects: &effects)
            case .empty, .fetching, .refreshing, .stopped: break
            }
            return effects
        }
        effects.run(logger)
    }

    private func waiterTimedOut(_ id: UInt64) {
        let effects = storage.withLock { storage in
            var effects = Effects()
            guard let waiter = storage.waiters.removeValue(forKey: id) else { return effects }
            let error = unavailableLocked(storage, now: clock.now(), waited: waiter.waitSeconds)
            effects.resumes.append((waiter.continuation, .failure(error)))
            return effects
        }
        effects.run(logger)
    }

    private func cancelWaiter(_ id: UInt64) {
        let effects = storage.withLock { storage in
            var effects = Effects()
            if storage.pendingWaiters[id] != nil {
                storage.pendingWaiters[id] = true
            } else if let waiter = storage.waiters.removeValue(forKey: id) {
                waiter.timeout?.cancel()
                let error = TokenUnavailable(
                    message: "request cancelled while waiting for a token", retryAfterSeconds: 1)
                effects.resumes.append((waiter.continuation, .failure(error)))
            }
            return effects
        }
        effects.run(logger)
    }

    /// Secret-free text for an error thrown by the fetcher.
    private static func describe(_ error: any Error) -> String {
        switch error {
        case let error as TokenError: error.message
        case is CancellationError: "token request cancelled"
        default: TokenError.sanitized(String(describing: error))
        }
    }
}
