/// A snapshot of the ``TokenCache`` for people and readiness checks; holds no token value.
public enum TokenStatus: Sendable, Hashable, CustomStringConvertible {
    /// Nothing fetched yet and no fetch running.
    case notStarted
    /// The first fetch (or one after expiry) is running; no token to serve.
    case fetching
    /// A token is held and valid for `expiresIn` more seconds.
    case valid(expiresIn: Double)
    /// A proactive refresh is running; the current token stays valid for `expiresIn` seconds.
    case refreshing(expiresIn: Double)
    /// The last fetch failed with `error`; the next try is in `retryIn` seconds. `tokenExpiresIn` is the
    /// life left of a token still being served, if any.
    case failing(error: String, retryIn: Double, tokenExpiresIn: Double?)
    /// The held token expired (e.g. during a suspend); the next request fetches a new one.
    case expired
    /// ``TokenCache/shutdown()`` was called.
    case stopped

    /// Whether a valid token can be served right now.
    public var hasValidToken: Bool {
        switch self {
        case .valid, .refreshing: true
        case .failing(_, _, let left): left != nil
        case .notStarted, .fetching, .expired, .stopped: false
        }
    }

    /// E.g. `token valid for 23h41m`, `fetching token`, `token endpoint failing: <error>; retry in 8s`.
    public var description: String {
        switch self {
        case .notStarted: "no token yet"
        case .fetching: "fetching token"
        case .valid(let left): "token valid for \(TokenDuration.human(left))"
        case .refreshing(let left): "refreshing token; current token valid for \(TokenDuration.human(left))"
        case .failing(let error, let retry, let left):
            "token endpoint failing: \(error); retry in \(TokenDuration.human(retry))"
                + (left.map { "; current token valid for \(TokenDuration.human($0))" } ?? "")
        case .expired: "token expired; fetching a new one on the next request"
        case .stopped: "token cache stopped"
        }
    }
}
