/// No valid token could be handed out within the caller's wait.
///
/// Meant to become a 503 with `Retry-After: <retryAfterSeconds>`. The message is the last fetch error's
/// text (or why waiting ended); it never contains the secret or a token.
public struct TokenUnavailable: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, fit for a log line and a response body.
    public let message: String
    /// When it is worth asking again, in whole seconds, at least 1.
    public let retryAfterSeconds: Int

    /// Makes the error; `retryAfterSeconds` is rounded up and raised to at least 1.
    public init(message: String, retryAfterSeconds: Double) {
        self.message = message
        let rounded = retryAfterSeconds.isFinite ? retryAfterSeconds.rounded(.up) : 1
        self.retryAfterSeconds = Int(min(max(rounded, 1), 86_400))
    }

    public var description: String { "\(message) (retry after \(retryAfterSeconds)s)" }
}
