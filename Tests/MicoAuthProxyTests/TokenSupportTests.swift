import MicoAuthProxy
import Synchronization
import Testing

@Suite("Token support types")
struct TokenSupportTests {
    @Test(arguments: [
        (TokenStatus.valid(expiresIn: 23 * 3600 + 41 * 60 + 7), "token valid for 23h41m"),
        (.valid(expiresIn: 599.5), "token valid for 9m59s"),
        (.fetching, "fetching token"),
        (
            .failing(error: "HTTP 503", retryIn: 7.2, tokenExpiresIn: nil),
            "token endpoint failing: HTTP 503; retry in 8s"
        ),
        (.refreshing(expiresIn: 65), "refreshing token; current token valid for 1m5s"),
        (.stopped, "token cache stopped"),
    ])
    func statusDescriptions(_ status: TokenStatus, _ expected: String) {
        #expect(status.description == expected)
    }

    @Test func retryAfterIsAWholeSecondAtLeastOne() {
        #expect(TokenUnavailable(message: "x", retryAfterSeconds: 0.2).retryAfterSeconds == 1)
        #expect(TokenUnavailable(message: "x", retryAfterSeconds: -4).retryAfterSeconds == 1)
        #expect(TokenUnavailable(message: "x", retryAfterSeconds: 7.1).retryAfterSeconds == 8)
        #expect(TokenUnavailable(message: "x", retryAfterSeconds: .infinity).retryAfterSeconds == 1)
    }

    @Test func systemBootClockMovesForward() {
        let clock = SystemBootClock()
        let first = clock.now()
        let second = clock.now()
        #expect(first > 0)
        #expect(second >= first)
    }

    @Test func dispatchTimerFiresOnceAndNotAfterCancel() async {
        let timer = DispatchTokenTimer()
        let fired = Mutex<[String]>([])
        // The cancelled timer is due well after its cancel (a loaded machine may stall this thread for
        // milliseconds) and before the kept one, so it would have fired by the time the kept one does.
        let cancelled = timer.schedule(after: 0.2) { fired.withLock { $0.append("cancelled") } }
        cancelled.cancel()
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            _ = timer.schedule(after: 0.3) {
                fired.withLock { $0.append("kept") }
                done.resume()
            }
        }
        cancelled.cancel()  // idempotent after the fact
        #expect(fired.withLock { $0 } == ["kept"])
    }
}
