/// Why the token endpoint did not give a usable access token.
///
/// The message is safe to log and to show: it never holds the client secret, the access token or
/// the response body verbatim. At most the OAuth `error` and `error_description` fields appear,
/// each cut to ``TokenError/maximumFieldLength`` characters with control characters replaced.
public struct TokenError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure; new codes may be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case oauthError = "oauth_error"
            case httpStatus = "http_status"
            case malformedResponse = "malformed_response"
            case unusableToken = "unusable_token"
            case transport = "transport"
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The endpoint answered with an OAuth error body (RFC 6749 §5.2).
        public static let oauthError = Code(.oauthError)
        /// The endpoint answered a non-2xx status without an OAuth error body.
        public static let httpStatus = Code(.httpStatus)
        /// The body is not a JSON object, or a required field is missing or of the wrong type.
        public static let malformedResponse = Code(.malformedResponse)
        /// The token is present but cannot be used (wrong token type, forbidden characters, already expired).
        public static let unusableToken = Code(.unusableToken)
        /// The request did not complete (connect, TLS, timeout); raised by the transport.
        public static let transport = Code(.transport)

        public var description: String { base.rawValue }
    }

    /// Longest `error` / `error_description` text kept from a response, in characters.
    public static let maximumFieldLength = 200

    /// The kind of failure.
    public let code: Code
    /// The HTTP status of the response, when there was one.
    public let status: Int?
    /// The OAuth `error` code (e.g. `invalid_client`), sanitized and truncated, when the endpoint sent one.
    public let oauthError: String?
    /// A one-line, secret-free explanation that names what to check.
    public let message: String
    /// Seconds the endpoint asked us to wait (`Retry-After` on a 429 or 503), when it said.
    public let retryAfter: Double?

    /// Makes an error; `message` must not contain secrets or token values.
    public init(code: Code, status: Int? = nil, oauthError: String? = nil, message: String, retryAfter: Double? = nil) {
        self.code = code
        self.status = status
        self.oauthError = oauthError
        self.message = message
        self.retryAfter = retryAfter
    }

    /// Whether the endpoint said the client credentials are wrong (RFC 6749 §5.2 `invalid_client`,
    /// `unauthorized_client`, or a 400/401 without a more specific error): retrying soon cannot help.
    public var rejectsCredentials: Bool {
        if let oauthError { return oauthError == "invalid_client" || oauthError == "unauthorized_client" }
        return status == 400 || status == 401
    }

    /// The same error with `retryAfter` and more words appended to the message.
    public func with(retryAfter: Double?, note: String? = nil) -> TokenError {
        TokenError(
            code: code, status: status, oauthError: oauthError,
            message: note.map { message + "; " + $0 } ?? message, retryAfter: retryAfter ?? self.retryAfter)
    }

    /// A transport failure (connect, TLS, timeout) described by `detail`, which must hold no secret.
    public static func transport(_ detail: String) -> TokenError {
        TokenError(code: .transport, message: "token endpoint unreachable: \(sanitized(detail))")
    }

    public var description: String { message }

    /// `text` with control characters replaced by spaces and cut to ``maximumFieldLength`` characters,
    /// so an endpoint cannot forge log lines or flood them.
    static func sanitized(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        var count = 0
        for scalar in text.unicodeScalars {
            if count == maximumFieldLength {
                return String(out) + "…"
            }
            let isControl = scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
            out.append(isControl ? " " : scalar)
            count += 1
        }
        return String(out)
    }
}
