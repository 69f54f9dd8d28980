import MicoHTTP

/// The proxy's own endpoints under `/-/`, answered on the same listener and never forwarded.
struct AdminEndpoints: Sendable {
    /// Paths under this prefix are the proxy's own.
    static let prefix = "/-/"
    static let paths: Set<Substring> = ["/-/healthy", "/-/ready", "/-/metrics", "/-/status"]

    /// Whether `target` is under ``prefix``, byte for byte (as the request line has it; `String.hasPrefix` compares
    /// characters, so a combining mark after the second slash would make it another path, forwarded).
    static func isAdmin(_ target: String) -> Bool {
        target.utf8.starts(with: prefix.utf8)
    }

    /// The server whose state `/-/metrics` and `/-/status` report.
    let server: ProxyServer

    /// The response for an admin request, for GET and HEAD (other methods get 405): `/-/healthy` is 200 while the
    /// process runs, `/-/ready` is 200 while a valid token is held and 503 otherwise, `/-/metrics` is the Prometheus
    /// text format, `/-/status` is JSON (``StatusReport``); every other `/-/` path is 404.
    func response(for request: HTTPRequestHead, keepAlive: Bool) -> (HTTPResponseHead, [UInt8]) {
        let path = request.path
        guard Self.paths.contains(path) else {
            return ProxyError.notFound.response(keepAlive: keepAlive)
        }
        guard request.method == "GET" || request.method == "HEAD" else {
            var refusal = ProxyError.methodNotAllowed(request.method, reason: "admin endpoints answer GET and HEAD")
            refusal.closesConnection = false
            return refusal.response(keepAlive: keepAlive)
        }
        switch path {
        case "/-/metrics":
            return ClientResponder.response(
                status: 200, contentType: ProxyMetrics.contentType, body: server.metricsPage(), keepAlive: keepAlive)
        case "/-/status":
            return ClientResponder.response(
                status: 200, contentType: "application/json", body: server.statusReport.json(), keepAlive: keepAlive)
        default:
            break
        }
        let tokens = server.tokens
        let status = tokens.status
        if path == "/-/healthy" {
            return Self.ok([("status", "healthy"), ("token", status.description)], keepAlive: keepAlive)
        }
        guard tokens.currentValidToken() != nil else {
            return ProxyError(
                status: 503, code: "not_ready", message: status.description,
                proxyStatusError: "proxy_internal_error", retryAfter: 1
            ).response(keepAlive: keepAlive)
        }
        return Self.ok([("status", "ready"), ("token", status.description)], keepAlive: keepAlive)
    }

    private static func ok(_ members: [(String, String)], keepAlive: Bool) -> (HTTPResponseHead, [UInt8]) {
        ClientResponder.json(status: 200, members: members, keepAlive: keepAlive)
    }
}
