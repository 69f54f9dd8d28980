import MicoHTTP

/// An access token held by the cache, with when it was obtained and when it expires on the ``BootClock``.
///
/// `description`, `debugDescription` and reflection are redacted, so a token interpolated into a log
/// line or an error shows only its type and lifetime. The raw token is ``value``.
public struct AccessToken: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The raw token, for the `Authorization` header only. Never log it.
    public let value: String
    /// Boot-clock second at which the request for this token was sent (a conservative start of its life).
    public let obtainedAt: Double
    /// Boot-clock second at which the token stops being valid.
    public let expiresAt: Double
    /// The `Authorization` header value: `Bearer <token>` (RFC 6750 §2.1).
    public var authorizationHeaderValue: String { "Bearer " + value }
    /// The `Authorization` field line; made once, sent with every request.
    public let authorizationField: HTTPFieldLine

    /// Makes a token valid from `obtainedAt` until `expiresAt` (boot-clock seconds).
    public init(value: String, obtainedAt: Double, expiresAt: Double) {
        self.value = value
        self.obtainedAt = obtainedAt
        self.expiresAt = expiresAt
        authorizationField = HTTPFieldLine(name: "Authorization", value: "Bearer " + value)
    }

    /// The lifetime granted by the endpoint, in seconds.
    public var lifetime: Double { expiresAt - obtainedAt }

    /// Whether the token may still be sent at boot-clock second `now`.
    public func isValid(at now: Double) -> Bool { now < expiresAt }

    /// Seconds left at `now` (negative once expired).
    public func remaining(at now: Double) -> Double { expiresAt - now }

    /// A redacted description as of boot-clock second `now`, e.g. `bearer token (expires in 3599s)`.
    public func description(at now: Double) -> String {
        let left = remaining(at: now)
        return left > 0 ? "bearer token (expires in \(TokenDuration.seconds(left)))" : "bearer token (expired)"
    }

    /// Redacted: `bearer token (lifetime 3599s)`.
    public var description: String { "bearer token (lifetime \(TokenDuration.seconds(lifetime)))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["redacted": description]) }
}
