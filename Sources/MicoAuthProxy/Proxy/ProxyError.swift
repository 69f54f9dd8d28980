import MicoHTTP

/// A response the proxy makes itself (never one relayed from the API): a JSON body
/// `{"error": code, "message": text}` and an RFC 9209 `Proxy-Status` header, so a tool can tell the proxy's
/// errors from the API's own.
struct ProxyError: Error, Sendable, CustomStringConvertible {
    /// HTTP status to answer with.
    var status: Int
    /// Short snake_case word for programs, e.g. `upstream_unreachable`.
    var code: String
    /// A sentence for people. Never holds a secret, a token or a header value.
    var message: String
    /// RFC 9209 §2.3 error type, e.g. `destination_unavailable`.
    var proxyStatusError: String
    /// Seconds for `Retry-After`, when a retry may succeed later.
    var retryAfter: Int?
    /// Whether the client connection must close after this response (framing errors: RFC 9112 §11.2).
    var closesConnection: Bool

    init(
        status: Int, code: String, message: String, proxyStatusError: String,
        retryAfter: Int? = nil, closesConnection: Bool = false
    ) {
        self.status = status
        self.code = code
        self.message = message
        self.proxyStatusError = proxyStatusError
        self.retryAfter = retryAfter
        self.closesConnection = closesConnection
    }

    var description: String { "\(status) \(code): \(message)" }

    /// The response head and body. `keepAlive` false adds `Connection: close`.
    func response(keepAlive: Bool) -> (HTTPResponseHead, [UInt8]) {
        var headers = HTTPHeaders()
        headers.add(
            name: "Proxy-Status",
            value: "mico-auth-proxy; error=\(proxyStatusError); details=\(JSONText.structuredString(message))"
        )
        if let retryAfter { headers.add(name: "Retry-After", value: String(retryAfter)) }
        return ClientResponder.json(
            status: status, members: [("error", code), ("message", message)], headers: headers, keepAlive: keepAlive)
    }
}

extension ProxyError {
    /// 400 (or the parser's status) for a request that breaks HTTP/1.1 framing; the connection closes.
    static func malformed(_ error: HTTPParseError) -> ProxyError {
        ProxyError(
            status: error.status, code: error.code, message: error.message,
            proxyStatusError: "http_request_error", closesConnection: true)
    }

    /// 503: no valid access token could be had in time.
    static func tokenUnavailable(_ message: String, retryAfter: Int) -> ProxyError {
        ProxyError(
            status: 503, code: "token_unavailable", message: "no valid access token: \(message)",
            proxyStatusError: "proxy_internal_error", retryAfter: retryAfter)
    }

    /// 502 or 504 for a failure to reach or talk to the upstream API.
    static func upstream(_ failure: UpstreamFailure) -> ProxyError {
        ProxyError(
            status: failure.status, code: failure.code, message: failure.message,
            proxyStatusError: failure.proxyStatusError, closesConnection: failure.closesClient)
    }

    static var notFound: ProxyError {
        ProxyError(
            status: 404, code: "not_found",
            message: "no admin endpoint at this path; see /-/healthy, /-/ready, /-/metrics and /-/status",
            proxyStatusError: "http_request_denied")
    }

    static func methodNotAllowed(_ method: String, reason: String) -> ProxyError {
        ProxyError(
            status: 405, code: "method_not_allowed", message: "\(method) is refused: \(reason)",
            proxyStatusError: "http_request_denied", closesConnection: true)
    }

    static func badTarget(_ reason: String) -> ProxyError {
        ProxyError(
            status: 400, code: "bad_request_target", message: reason,
            proxyStatusError: "http_request_denied", closesConnection: true)
    }

    /// 403: the policy refuses this caller or path.
    static func forbidden(_ code: String, _ message: String) -> ProxyError {
        ProxyError(status: 403, code: code, message: message, proxyStatusError: "http_request_denied")
    }

    /// 413: the request body is larger than `max_request_body_bytes`; the connection closes (the body is unread).
    static func tooLarge(limit: UInt64) -> ProxyError {
        ProxyError(
            status: 413, code: "request_body_too_large", message: "request bodies are limited to \(limit) bytes",
            proxyStatusError: "http_request_denied", closesConnection: true)
    }

    /// 503: more than `max_connections` clients at once.
    static let overloaded = ProxyError(
        status: 503, code: "too_many_connections", message: "the proxy is serving max_connections clients already",
        proxyStatusError: "proxy_internal_error", retryAfter: 1, closesConnection: true)

    /// 408: the request body stopped arriving for `client_body_timeout_seconds`; the upstream request is abandoned.
    static let bodyTimeout = ProxyError(
        status: 408, code: "request_timeout", message: "the request body stopped arriving",
        proxyStatusError: "http_request_error", closesConnection: true)

    static let headTimeout = ProxyError(
        status: 408, code: "request_timeout", message: "the request head did not arrive in time",
        proxyStatusError: "http_request_error", closesConnection: true)
}
