import MicoAuthProxy
import Testing

@Suite("Token refresh policy")
struct TokenRefreshPolicyTests {
    @Test(
        arguments: [
            (86399.0, nil, 600.0),  // 10 % = 8640, clamped to 600
            (3000, nil, 300),  // 10 %
            (100, nil, 30),  // 10 % = 10, raised to 30, below half (50)
            (20, nil, 10),  // 30 would exceed half the lifetime
            (86399, 120, 120),  // configured margin wins over the derived one
            (100, 90, 50),  // a configured margin is still capped at half the lifetime
        ] as [(Double, Double?, Double)])
    func margin(lifetime: Double, configured: Double?, expected: Double) {
        let policy = TokenRefreshPolicy(refreshMarginSeconds: configured)
        #expect(policy.margin(forLifetime: lifetime) == expected)
        #expect(policy.refreshDelay(lifetime: lifetime, random: 0) == lifetime - expected)
    }

    @Test func refreshJitterMovesTheRefreshEarlierByAtMostAFifthOfTheMargin() {
        let policy = TokenRefreshPolicy()
        let latest = policy.refreshDelay(lifetime: 86399, random: 0)
        let earliest = policy.refreshDelay(lifetime: 86399, random: 0.999_999)
        #expect(latest == 85799)
        #expect(earliest < 85799 - 119.99)
        #expect(earliest > 85799 - 120)
        let mid = policy.refreshDelay(lifetime: 86399, random: 0.5)
        #expect(abs(mid - (85799 - 60)) < 1e-6)
    }

    @Test func refreshJitterNeverGoesBelowHalfTheLifetime() {
        let policy = TokenRefreshPolicy()
        #expect(policy.refreshDelay(lifetime: 20, random: 0.999_999) == 10)
        #expect(policy.refreshDelay(lifetime: 100, random: 0.999_999) > 50)
        #expect(policy.refreshDelay(lifetime: 100, random: 0.999_999) < 70)
    }

    @Test func outOfRangeRandomValuesAreClamped() {
        let policy = TokenRefreshPolicy()
        #expect(policy.refreshDelay(lifetime: 86399, random: -3) == 85799)
        #expect(policy.refreshDelay(lifetime: 86399, random: .nan) == 85799)
        #expect(abs(policy.backoffDelay(attempt: 1, random: 7) - 0.8) < 1e-9)
    }

    @Test func backoffSequenceWithoutJitter() {
        let policy = TokenRefreshPolicy()
        let delays = (1...10).map { policy.backoffDelay(attempt: $0, random: 0) }
        #expect(delays == [1, 2, 4, 8, 16, 32, 60, 60, 60, 60])
        #expect(policy.backoffDelay(attempt: 10_000, random: 0) == 60)
    }

    @Test func backoffJitterTakesOffUpToAFifth() {
        let policy = TokenRefreshPolicy()
        for (attempt, base) in [(1, 1.0), (2, 2), (3, 4), (6, 32), (7, 60), (20, 60)] {
            let jittered = policy.backoffDelay(attempt: attempt, random: 0.999_999)
            #expect(jittered < base)
            #expect(jittered > base * 0.8)
        }
        #expect(abs(policy.backoffDelay(attempt: 4, random: 0.5) - 7.2) < 1e-9)
    }
}
