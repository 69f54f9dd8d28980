/// The ``TokenCache``'s state in numbers, for `/-/status` and the metrics; holds no token value.
public struct TokenDiagnostics: Sendable, Equatable {
    /// Seconds the held token stays valid; nil when no valid token is held.
    public var secondsLeft: Double?
    /// Seconds since the last token fetch finished, successful or not; nil before the first.
    public var secondsSinceLastFetch: Double?
    /// Seconds since the last successful fetch; nil before the first.
    public var secondsSinceLastSuccess: Double?
    /// Secret-free text of the last failure; cleared by a success.
    public var lastError: String?
    /// Fetches that failed in a row; 0 after a success.
    public var consecutiveFailures: Int

    /// Whether a valid token is held now.
    public var hasValidToken: Bool { secondsLeft != nil }
}
