import Dispatch
import MicoHTTP
import MicoIO

/// Fetches tokens from the token endpoint over the same HTTP/TLS client the proxy forwards with
/// (a form-encoded POST, as the vendor's authentication guide describes). Redirects are not followed.
struct TokenClient: TokenFetching {
    let pool: UpstreamPool
    let url: HTTPURL
    /// Read at every fetch, so a reload takes effect for the next one.
    let credentials: TokenCredentials
    /// Seconds to wait for the response.
    let responseTimeout: Double
    /// A token response larger than this is refused.
    static let maxResponseBytes = 64 * 1024

    func fetchToken() async throws -> TokenGrant {
        let credentials = credentials.current
        let body = TokenEndpointProtocol.requestBody(
            clientID: credentials.clientID, clientSecret: credentials.clientSecret.value, scope: credentials.scope)
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: url.authority)
        headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        headers.add(name: "Accept", value: "application/json")
        headers.add(name: "User-Agent", value: "mico-auth-proxy/\(MicoAuthProxyVersion.current)")
        headers.add(name: "Content-Length", value: String(body.count))
        let head = HTTPRequestHead(
            method: "POST", target: url.path.isEmpty ? "/" : url.path, version: .http1_1, headers: headers)
        var request: [UInt8] = []
        head.serialize(into: &request)
        request += body

        let connection = try await pool.acquire()
        let deadline = DispatchTime.now() + responseTimeout
        do {
            try await connection.stream.write(request, deadline: deadline)
            var reader = HTTPReader(stream: connection.stream)
            var decoder = HTTPResponseHeadDecoder()
            let (response, framing) = try await reader.readResponseHead(
                &decoder, requestMethod: "POST", deadline: deadline)
            var bodyDecoder = HTTPBodyDecoder(framing: framing)
            let responseBody = try await reader.readWholeBody(
                &bodyDecoder, limit: Self.maxResponseBytes, deadline: deadline)
            pool.finish(
                connection, upstreamKeepsAlive: response.isKeepAlive, framing: framing,
                strayBytes: reader.hasBufferedBytes)
            do {
                return try TokenEndpointProtocol.parseResponse(status: response.status, body: responseBody)
            } catch {
                // RFC 9110 §10.2.3: a 429 or 503 may say when to come back.
                let retryAfter = response.headers.first("Retry-After").flatMap { Double($0) }
                let note =
                    error.rejectsCredentials
                    ? "the endpoint rejected the client id and secret (secret from \(credentials.source)); "
                        + "fix them and reload (SIGHUP)"
                    : nil
                throw error.with(retryAfter: retryAfter, note: note)
            }
        } catch let error as TokenError {
            throw error
        } catch {
            connection.close()
            throw UpstreamFailure(error, phase: .awaitResponse, origin: pool.origin)
        }
    }
}
