import MicoAuthProxy
import Synchronization
import Testing

/// A cache wired to a fake clock, a manual timer, a held-call fetcher and a log recorder.
private struct TokenCacheHarness {
    let clock = TokenTestClock(1000)
    let timer: TokenTestTimer
    let fetcher = TokenTestFetcher()
    let logs = TokenTestLogs()
    let cache: TokenCache

    init(policy: TokenRefreshPolicy = TokenRefreshPolicy(), random: Double = 0) {
        timer = TokenTestTimer(clock: clock)
        cache = TokenCache(
            fetcher: fetcher, policy: policy, clock: clock, timer: timer, random: { random }, logger: logs.logger)
    }

    /// Starts the cache and answers its first fetch with `token`.
    func startValid(_ token: String = "tok-1", expiresIn: Double) async {
        cache.start()
        #expect(await tokenEventually { fetcher.calls == 1 })
        fetcher.succeed(token, expiresIn: expiresIn)
        #expect(await tokenEventually { cache.currentValidToken()?.value == token })
    }

    /// A background `token(waitSeconds:)` call.
    func request(wait: Double) -> TokenTestRequest {
        TokenTestRequest(cache: cache, wait: wait)
    }

    func waitForFailing() async -> Bool {
        await tokenEventually {
            if case .failing = cache.status { return true }
            return false
        }
    }
}

extension Result {
    fileprivate var value: Success? { try? get() }
    fileprivate var error: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}

@Suite("Token cache")
struct TokenCacheTests {
    // MARK: Single flight

    @Test func coldStartWithManyCallersMakesExactlyOneFetch() async {
        let h = TokenCacheHarness()
        let tasks = (0..<64).map { _ in h.request(wait: 30) }
        #expect(await tokenEventually { h.cache.waiterCount == 64 && h.fetcher.calls == 1 })
        h.fetcher.succeed("tok-1", expiresIn: 3600)
        #expect(await tokenEventually { tasks.allSatisfy(\.isDone) })
        var values: [String] = []
        for task in tasks {
            values.append(await task.result()?.value?.value ?? "failed")
        }
        #expect(values == Array(repeating: "tok-1", count: 64))
        #expect(h.fetcher.calls == 1)
        #expect(h.cache.waiterCount == 0)
    }

    @Test func startFetchesAtOnceAndOnlyOnce() async {
        let h = TokenCacheHarness()
        #expect(h.cache.status == .notStarted)
        h.cache.start()
        #expect(await tokenEventually { h.fetcher.calls == 1 })
        #expect(h.cache.status == .fetching)
        h.cache.start()
        _ = h.request(wait: 10)
        #expect(await tokenEventually { h.cache.waiterCount == 1 })
        #expect(h.fetcher.calls == 1)
        h.fetcher.succeed("tok-1", expiresIn: 60)
        #expect(await tokenEventually { h.cache.waiterCount == 0 })
    }

    // MARK: Proactive refresh

    @Test(
        arguments: [
            (86399.0, nil, 85799.0),
            (100, nil, 70),
            (20, nil, 10),
            (86399, 120, 86279),
        ] as [(Double, Double?, Double)])
    func refreshesAtLifetimeMinusMargin(lifetime: Double, margin: Double?, refreshAfter: Double) async throws {
        let h = TokenCacheHarness(policy: TokenRefreshPolicy(refreshMarginSeconds: margin))
        await h.startValid(expiresIn: lifetime)
        #expect(h.timer.pendingDelays == [refreshAfter])

        h.timer.advance(by: refreshAfter - 0.001)
        #expect(h.fetcher.calls == 1)
        h.timer.advance(by: 0.001)
        #expect(await tokenEventually { h.fetcher.calls == 2 })
        #expect(h.cache.status == .refreshing(expiresIn: lifetime - refreshAfter))

        // The held token keeps being served, without a second fetch.
        let served = try await h.cache.token(waitSeconds: 0)
        #expect(served.value == "tok-1")
        #expect(h.fetcher.calls == 2)

        h.fetcher.succeed("tok-2", expiresIn: lifetime)
        #expect(await tokenEventually { h.cache.currentValidToken()?.value == "tok-2" })
        #expect(h.timer.pendingDelays == [refreshAfter])
    }

    @Test func refreshJitterComesFromTheRandomSource() async {
        let h = TokenCacheHarness(random: 0.999_999)
        await h.startValid(expiresIn: 86399)
        let delay = h.timer.pendingDelays.first ?? 0
        #expect(delay < 85799 - 119.99)
        #expect(delay > 85799 - 120)
    }

    @Test func logsTheObtainedTokenLifetimeButNeverItsValue() async {
        let h = TokenCacheHarness()
        await h.startValid("SECRET-TOKEN-VALUE", expiresIn: 86399)
        #expect(h.logs.all.contains { $0.contains("token obtained, valid for 86399s, next refresh in 85799s") })
        #expect(h.logs.all.allSatisfy { !$0.contains("SECRET-TOKEN-VALUE") })
    }

    // MARK: Failures and backoff

    @Test func backoffDoublesUpToTheCeilingAndResetsOnSuccess() async {
        let h = TokenCacheHarness()
        h.cache.start()
        var seen: [Double] = []
        for attempt in 1...8 {
            #expect(await tokenEventually { h.fetcher.calls == attempt })
            h.fetcher.fail("connect: refused")
            #expect(await tokenEventually { h.timer.pendingDelays.count == 1 && h.fetcher.pendingCount == 0 })
            #expect(await h.waitForFailing())
            let delay = h.timer.pendingDelays[0]
            seen.append(delay)
            h.timer.advance(by: delay)
        }
        #expect(seen == [1, 2, 4, 8, 16, 32, 60, 60])

        #expect(await tokenEventually { h.fetcher.calls == 9 })
        h.fetcher.succeed("tok-1", expiresIn: 100)
        #expect(await tokenEventually { h.cache.currentValidToken() != nil })
        h.timer.advance(by: 70)
        #expect(await tokenEventually { h.fetcher.calls == 10 })
        h.fetcher.fail("connect: refused")
        #expect(await h.waitForFailing())
        #expect(h.timer.pendingDelays == [1])
    }

    @Test func backoffJitterShortensTheDelay() async {
        let h = TokenCacheHarness(random: 0.999_999)
        h.cache.start()
        #expect(await tokenEventually { h.fetcher.calls == 1 })
        h.fetcher.fail("connect: refused")
        #expect(await h.waitForFailing())
        let delay = h.timer.pendingDelays.first ?? 0
        #expect(delay < 1)
        #expect(delay > 0.8)
    }

    @Test func currentTokenIsServedWhileTheRefreshFails() async throws {
        let h = TokenCacheHarness()
        await h.startValid(expiresIn: 100)
        h.timer.advance(by: 70)
        #expect(await tokenEventually { h.fetcher.calls == 2 })
        h.fetcher.fail("connect: refused")
        #expect(await h.waitForFailing())

        #expect(try await h.cache.token(waitSeconds: 0).value == "tok-1")
        #expect(h.cache.currentValidToken()?.value == "tok-1")
        #expect(
            h.cache.status
                == .failing(error: "token endpoint unreachable: connect: refused", retryIn: 1, tokenExpiresIn: 30))
        #expect(h.cache.status.hasValidToken)
        #expect(
            h.cache.status.description
                == "token endpoint failing: token endpoint unreachable: connect: refused; retry in 1s; "
                + "current token valid for 30s")
        #expect(
            h.logs.all.contains {
                $0.hasPrefix("warning token fetch failed") && $0.contains("connect: refused; retry in 1s")
            })

        h.timer.advance(by: 1)
        #expect(await tokenEventually { h.fetcher.calls == 3 })
        h.fetcher.succeed("tok-2", expiresIn: 100)
        #expect(await tokenEventually { h.cache.currentValidToken()?.value == "tok-2" })
    }

    // MARK: Expiry checked on every use

    @Test func tokenExpiredDuringSuspendIsNeverServed() async {
        let h = TokenCacheHarness()
        await h.startValid(expiresIn: 100)
        #expect(h.timer.pendingDelays == [70])

        h.clock.advance(by: 200)  // suspended: the clock moved, the timer did not fire
        #expect(h.cache.currentValidToken() == nil)
        #expect(h.cache.status == .expired)
        let request = h.request(wait: 30)
        #expect(await tokenEventually { h.fetcher.calls == 2 })
        #expect(h.cache.waiterCount == 1)
        h.fetcher.succeed("tok-2", expiresIn: 100)
        #expect(await request.result()?.value?.value == "tok-2")
        #expect(h.timer.pendingDelays == [70])  // the stale refresh timer is gone
    }

    @Test func tokenExpiredDuringBackoffIsNeverServed() async {
        let h = TokenCacheHarness()
        await h.startValid(expiresIn: 100)
        h.timer.advance(by: 70)
        #expect(await tokenEventually { h.fetcher.calls == 2 })
        h.fetcher.fail("connect: refused")
        #expect(await h.waitForFailing())

        h.clock.advance(by: 50)  // past expiry and past the retry, no timer fired
        let request = h.request(wait: 5)
        #expect(await tokenEventually { h.fetcher.calls == 3 })
        h.fetcher.succeed("tok-2", expiresIn: 100)
        #expect(await request.result()?.value?.value == "tok-2")
    }

    @Test func tokenThatExpiredBeforeItArrivedIsAFailure() async {
        let h = TokenCacheHarness()
        h.cache.start()
        #expect(await tokenEventually { h.fetcher.calls == 1 })
        h.clock.advance(by: 10)
        h.fetcher.succeed("tok-late", expiresIn: 5)
        #expect(await h.waitForFailing())
        #expect(h.cache.currentValidToken() == nil)
        #expect(h.cache.status.description.contains("token expired before it arrived"))
    }

    // MARK: Waiting

    @Test func waiterTimesOutWithRetryAfter() async {
        let h = TokenCacheHarness()
        h.cache.start()
        #expect(await tokenEventually { h.fetcher.calls == 1 })
        let request = h.request(wait: 5)
        #expect(await tokenEventually { h.cache.waiterCount == 1 })

        h.timer.advance(by: 4.9)
        #expect(h.cache.waiterCount == 1)
        #expect(!request.isDone)
        h.timer.advance(by: 0.1)
        let error = await request.result()?.error
        #expect(error?.retryAfterSeconds == 1)
        #expect(error?.message == "no token yet: the token endpoint did not answer within 5s")
        #expect(h.fetcher.calls == 1)

        // The fetch in flight still lands.
        h.fetcher.succeed("tok-1", expiresIn: 60)
        #expect(await tokenEventually { h.cache.currentValidToken()?.value == "tok-1" })
    }

    @Test func failsAtOnceWhenTheNextRetryIsBeyondTheDeadline() async {
        let h = TokenCacheHarness()
        h.cache.start()
        for attempt in 1...3 {
            #expect(await tokenEventually { h.fetcher.calls == attempt })
            h.fetcher.fail("TLS handshake failed")
            #expect(await tokenEventually { h.fetcher.pendingCount == 0 })
            #expect(await h.waitForFailing())
            if attempt < 3 { h.timer.advance(by: h.timer.pendingDelays[0]) }
        }
        #expect(h.timer.pendingDelays == [4])

        let quick = await h.request(wait: 2).result()
        #expect(quick?.error?.retryAfterSeconds == 4)
        #expect(quick?.error?.message == "token endpoint unreachable: TLS handshake failed")
        #expect(h.fetcher.calls == 3)

        let patient = h.request(wait: 10)
        #expect(await tokenEventually { h.cache.waiterCount == 1 })
        h.timer.advance(by: 4)
        #expect(await tokenEventually { h.fetcher.calls == 4 })
        h.fetcher.succeed("tok-1", expiresIn: 60)
        #expect(await patient.result()?.value?.value == "tok-1")
    }

    @Test func failedFetchFailsOnlyWaitersWhoseDeadlineIsBeforeTheRetry() async {
        let h = TokenCacheHarness()
        h.cache.start()
        #expect(await tokenEventually { h.fetcher.calls == 1 })
        let short = h.request(wait: 0.5)
        let long = h.request(wait: 10)
        #expect(await tokenEventually { h.cache.waiterCount == 2 })

        // A transient failure (a 401 would now mean "wrong credentials" and wait 5 minutes; see below).
        h.fetcher.answer(.failure(TokenError(code: .httpStatus, status: 503, message: "server busy")))
        let error = await short.result()?.error
        #expect(error?.message == "server busy")
        #expect(error?.retryAfterSeconds == 1)
        #expect(h.cache.waiterCount == 1)

        h.timer.advance(by: 1)
        #expect(await tokenEventually { h.fetcher.calls == 2 })
        h.fetcher.succeed("tok-1", expiresIn: 60)
        #expect(await long.result()?.value?.value == "tok-1")
    }

    @Test func zeroWaitWithoutTokenFailsButStartsAFetch() async {
        let h = TokenCacheHarness()
        let result = await h.request(wait: 0).result()
        #expect(result?.error?.retryAfterSeconds == 1)
        #expect(await tokenEventually { h.fetcher.calls == 1 })
        #expect(h.cache.status == .fetching)
    }

    @Test func cancelledCallerStopsWaitingWithoutCancellingTheFetch() async {
        let h = TokenCacheHarness()
        let request = h.request(wait: 30)
        #expect(await tokenEventually { h.cache.waiterCount == 1 })
        request.cancel()
        #expect(await request.result()?.error?.message == "request cancelled while waiting for a token")
        #expect(h.cache.waiterCount == 0)
        h.fetcher.succeed("tok-1", expiresIn: 60)
        #expect(await tokenEventually { h.cache.currentValidToken()?.value == "tok-1" })
    }

    // MARK: Invalidation and shutdown

    @Test func invalidateDropsOnlyTheCurrentTokenAndFetchesAgain() async {
        let h = TokenCacheHarness()
        await h.startValid(expiresIn: 3600)
        let first = h.cache.currentValidToken()!
        #expect(h.cache.invalidate(first))
        #expect(h.cache.currentValidToken() == nil)
        #expect(await tokenEventually { h.fetcher.calls == 2 })
        #expect(!h.cache.invalidate(first))

        h.fetcher.succeed("tok-2", expiresIn: 3600)
        #expect(await tokenEventually { h.cache.currentValidToken()?.value == "tok-2" })
        #expect(!h.cache.invalidate(first))
        #expect(h.cache.currentValidToken()?.value == "tok-2")
        #expect(h.fetcher.calls == 2)
    }

    @Test func shutdownFailsWaitersAndCancelsTimers() async {
        let h = TokenCacheHarness()
        h.cache.start()
        let request = h.request(wait: 30)
        #expect(await tokenEventually { h.cache.waiterCount == 1 })
        #expect(h.timer.pendingDelays == [30])

        h.cache.shutdown()
        #expect(await request.result()?.error?.message == "token cache is shutting down")
        #expect(h.timer.pendingDelays.isEmpty)
        #expect(h.cache.status == .stopped)
        h.fetcher.succeed("tok-late", expiresIn: 60)
        #expect(await h.request(wait: 5).result()?.error != nil)
        #expect(h.cache.currentValidToken() == nil)
    }

    // MARK: Nothing prints the token

    @Test func descriptionsNeverContainTheToken() async throws {
        let h = TokenCacheHarness()
        await h.startValid("SECRET-TOKEN-VALUE", expiresIn: 3600)
        let token = try await h.cache.token(waitSeconds: 1)
        #expect(token.value == "SECRET-TOKEN-VALUE")
        #expect(token.authorizationHeaderValue == "Bearer SECRET-TOKEN-VALUE")
        #expect(token.description(at: h.clock.now() + 1) == "bearer token (expires in 3599s)")

        let grant = TokenGrant(accessToken: "SECRET-TOKEN-VALUE", expiresIn: 3600)
        var dumped = ""
        dump(token, to: &dumped)
        dump(grant, to: &dumped)
        let texts = [
            "\(token)", String(reflecting: token), token.description, token.debugDescription,
            "\(grant)", String(reflecting: grant), "\(h.cache.status)", dumped, "\([token])",
        ]
        for text in texts {
            #expect(!text.contains("SECRET-TOKEN-VALUE"), "\(text)")
        }
        #expect("\(token)" == "bearer token (lifetime 3600s)")
        #expect(h.logs.all.allSatisfy { !$0.contains("SECRET-TOKEN-VALUE") })
    }

    @Test func rejectedCredentialsRetrySlowlyAndRetryNowSkipsTheWait() async {
        let h = TokenCacheHarness()
        h.cache.start()
        #expect(await tokenEventually { h.fetcher.calls == 1 })
        h.fetcher.answer(
            .failure(TokenError(code: .oauthError, status: 401, oauthError: "invalid_client", message: "bad client")))
        #expect(await tokenEventually { h.cache.status.description.contains("bad client") })
        let waiting = h.request(wait: 10)
        #expect(await waiting.result()?.error?.retryAfterSeconds == 300)
        h.timer.advance(by: 60)
        #expect(h.fetcher.calls == 1)
        h.cache.retryNow()
        #expect(await tokenEventually { h.fetcher.calls == 2 })
    }

    @Test func retryAfterFromTheEndpointIsHonoured() async {
        let h = TokenCacheHarness()
        h.cache.start()
        #expect(await tokenEventually { h.fetcher.calls == 1 })
        h.fetcher.answer(
            .failure(TokenError(code: .httpStatus, status: 429, message: "slow down", retryAfter: 20)))
        let waiting = h.request(wait: 5)
        #expect(await waiting.result()?.error?.retryAfterSeconds == 20)
        h.timer.advance(by: 10)
        #expect(h.fetcher.calls == 1)
        h.timer.advance(by: 10)
        #expect(await tokenEventually { h.fetcher.calls == 2 })
    }
}
