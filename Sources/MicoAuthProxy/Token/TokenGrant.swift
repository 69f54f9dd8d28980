/// A successful answer of the token endpoint: the token and its lifetime as the endpoint sent them.
///
/// `description`, `debugDescription` and reflection are redacted: printing or dumping a grant never
/// shows the token.
public struct TokenGrant: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The raw access token, for the `Authorization` header only.
    public let accessToken: String
    /// Lifetime in seconds from when the token was requested (`expires_in`), > 0.
    public let expiresIn: Double
    /// The token type as sent (some case of `bearer`).
    public let tokenType: String

    /// Makes a grant.
    public init(accessToken: String, expiresIn: Double, tokenType: String = "bearer") {
        self.accessToken = accessToken
        self.expiresIn = expiresIn
        self.tokenType = tokenType
    }

    public var description: String { "token grant (\(tokenType), expires_in \(TokenDuration.seconds(expiresIn)))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["redacted": description]) }
}
