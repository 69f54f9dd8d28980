/// When the ``TokenCache`` refreshes a token before it expires, and how long it waits after a failure.
///
/// Every field has a default; all times are seconds. The random value `r` passed in is in [0, 1).
///
/// - Refresh margin `m`: ``refreshMarginSeconds`` when set, else 10 % of the lifetime clamped to
///   30…600 s; never more than half the lifetime.
/// - Refresh jitter: the effective margin is `min(m × (1 + 0.2 × r), lifetime / 2)`, so refreshes of
///   many proxies spread over 20 % of the margin, always earlier than the margin, never before half-life.
/// - Backoff after the n-th consecutive failure: `b = min(1 × 2^(n−1), 60)`, waited as
///   `b × (1 − 0.2 × r)`: 1, 2, 4, 8, 16, 32, 60, 60 … less up to 20 %, never above the ceiling.
public struct TokenRefreshPolicy: Sendable, Hashable {
    /// Fixed margin before expiry at which to refresh; `nil` (default) derives it from the lifetime.
    public var refreshMarginSeconds: Double?
    /// Fraction of the lifetime used as margin when none is set. Default 0.1.
    public var marginFraction: Double = 0.1
    /// Smallest derived margin. Default 30 s.
    public var minimumMarginSeconds: Double = 30
    /// Largest derived margin. Default 600 s.
    public var maximumMarginSeconds: Double = 600
    /// Share of the margin added as jitter. Default 0.2.
    public var refreshJitterFraction: Double = 0.2
    /// Delay after the first failure. Default 1 s.
    public var backoffInitialSeconds: Double = 1
    /// Ceiling of the backoff delay. Default 60 s.
    public var backoffMaximumSeconds: Double = 60
    /// Share of the backoff delay taken off as jitter. Default 0.2.
    public var backoffJitterFraction: Double = 0.2
    /// Seconds between attempts while the endpoint rejects the client credentials (they will not fix
    /// themselves; `retryNow()`, e.g. on SIGHUP after a fix, tries at once).
    public var credentialsRejectedRetrySeconds: Double = 300

    /// Makes the default policy, with an optional fixed refresh margin in seconds.
    public init(refreshMarginSeconds: Double? = nil) {
        self.refreshMarginSeconds = refreshMarginSeconds
    }

    /// The margin before expiry for a token of `lifetime` seconds, before jitter.
    public func margin(forLifetime lifetime: Double) -> Double {
        let base =
            refreshMarginSeconds
            ?? min(max(lifetime * marginFraction, minimumMarginSeconds), maximumMarginSeconds)
        return min(max(base, 0), lifetime / 2)
    }

    /// Seconds after the token was obtained at which to refresh it, with jitter from `random`.
    public func refreshDelay(lifetime: Double, random: Double) -> Double {
        let margin = margin(forLifetime: lifetime)
        let jittered = min(margin * (1 + refreshJitterFraction * Self.unit(random)), lifetime / 2)
        return lifetime - jittered
    }

    /// Seconds to wait after the `attempt`-th consecutive failure (1-based), with jitter from `random`.
    public func backoffDelay(attempt: Int, random: Double) -> Double {
        let doublings = Double(sign: .plus, exponent: min(max(attempt, 1) - 1, 62), significand: 1)
        let base = min(backoffInitialSeconds * doublings, backoffMaximumSeconds)
        return base * (1 - backoffJitterFraction * Self.unit(random))
    }

    /// `value` forced into [0, 1]; a NaN counts as 0.
    private static func unit(_ value: Double) -> Double {
        value.isNaN ? 0 : min(max(value, 0), 1)
    }
}
