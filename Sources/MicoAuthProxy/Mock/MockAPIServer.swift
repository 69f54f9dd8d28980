import Dispatch
import Logging
import MicoHTTP
import MicoIO
import Synchronization

/// A stand-in for the Mico Voice API, for `demo`, `mock-api` and tests (of this project and of tools that use
/// the proxy): a token endpoint that checks client credentials and issues short-lived random tokens, and `/v1/…`
/// endpoints that demand a valid bearer token and echo what they received.
///
/// Endpoints:
/// - `POST /oauth/token` — form-encoded client-credentials grant, as the vendor's guide describes.
/// - `/v1/bytes/N` — N bytes (`?mode=chunked` or `?mode=close` for other framings, `?mode=die` to send half and
///   drop the connection; HEAD gives only the length).
/// - `/v1/status/NNN` — that status with a small JSON body (none for 204 and 304).
/// - `/v1/cors` — a 200 carrying `Access-Control-Allow-*` headers (a proxy must not pass them to a browser).
/// - `/v1/redirect` — a 302 to another host (a proxy must pass it on, not follow it).
/// - `/v1/slow?ms=N` — waits N milliseconds before answering like `/v1/echo`.
/// - any other `/v1/…` — echoes method, target, body length and SHA-256, and the header names received.
public final class MockAPIServer: Sendable {
    /// How the mock listens and which credentials it accepts.
    public struct Options: Sendable {
        /// IP literal to listen on. Default `127.0.0.1`.
        public var host = "127.0.0.1"
        /// Port; 0 (the default) lets the kernel choose.
        public var port: UInt16 = 0
        /// PEM certificate chain and key to serve TLS with; nil (default) serves plain HTTP.
        public var tlsCertificateFile: String?
        public var tlsPrivateKeyFile: String?
        /// The client credentials the token endpoint accepts.
        public var clientID = "mock-client-id"
        public var clientSecret = "mock-client-secret"
        /// Lifetime of issued tokens, seconds. Default 3600.
        public var tokenTTL: Double = 3600
        /// Seconds the token endpoint waits before answering (a slow vendor). Default 0.
        public var tokenResponseDelay: Double = 0

        public init() {}
    }

    /// Faults that tests switch on and off while the mock runs.
    public struct Faults: Sendable, Equatable {
        /// The token endpoint answers this status (e.g. 503, 429) instead of issuing a token; nil: normal.
        public var tokenEndpointStatus: Int?
        /// `Retry-After` seconds sent with `tokenEndpointStatus`.
        public var tokenEndpointRetryAfter: Int?
        /// Every connection is closed after one response, without `Connection: close` (an upstream that drops
        /// kept-alive connections).
        public var closeAfterEachResponse = false

        public init() {}
    }

    /// Counters for tests and for the demo's summary.
    public struct Stats: Sendable, Equatable {
        /// Connections accepted (TLS handshakes attempted, for a TLS mock).
        public var connectionsAccepted = 0
        /// TLS handshakes that resumed a session of an earlier connection.
        public var sessionsResumed = 0
        /// Requests to the token endpoint, successful or not.
        public var tokenRequests = 0
        /// Tokens issued.
        public var tokensIssued = 0
        /// `/v1/…` requests that carried a valid token.
        public var apiRequests = 0
        /// `/v1/…` requests refused for a missing or invalid token.
        public var unauthorizedRequests = 0
    }

    /// One `/v1/…` request as the mock saw it.
    public struct RecordedRequest: Sendable {
        public var method: String
        public var target: String
        public var headers: HTTPHeaders
        public var bodyLength: UInt64
        public var bodySHA256: String
    }

    public let options: Options
    private let tls: TLSContext?
    private let logger: Logger
    private let listener = Mutex<Listener?>(nil)
    private let tokens = Mutex<[String: DispatchTime]>([:])
    private let counters = Mutex(Stats())
    private let recorded = Mutex<[RecordedRequest]>([])
    private let activeFaults = Mutex(Faults())

    public init(options: Options, logger: Logger = Logger(label: "mico.mock-api")) throws {
        self.options = options
        self.logger = logger
        if let certificate = options.tlsCertificateFile, let key = options.tlsPrivateKeyFile {
            tls = try TLSContext.server(certificateChainFile: certificate, privateKeyFile: key)
        } else {
            tls = nil
        }
    }

    /// Starts listening; returns the bound address (with the chosen port).
    @discardableResult
    public func start() throws -> SocketAddress {
        guard let address = SocketAddress(ipLiteral: options.host, port: options.port) else {
            throw ProxyStartError("mock-api: \(options.host) is not an IP literal")
        }
        TerminationSignals.ignoreBrokenPipe()
        let listener = try Listener(bind: address)
        listener.start { [self] channel in
            Task { await self.serve(channel) }
        }
        self.listener.withLock { $0 = listener }
        return listener.address
    }

    /// Stops listening.
    public func stop() {
        listener.withLock { listener in
            listener?.close()
            listener = nil
        }
    }

    /// The counters so far.
    public var stats: Stats { counters.withLock { $0 } }

    /// The `/v1/…` requests seen so far (the most recent 1,000).
    public var requests: [RecordedRequest] { recorded.withLock { $0 } }

    /// The faults in force; set them at any time.
    public var faults: Faults {
        get { activeFaults.withLock { $0 } }
        set { activeFaults.withLock { $0 = newValue } }
    }

    /// Forgets every issued token, as if the vendor revoked them.
    public func revokeAllTokens() {
        tokens.withLock { $0.removeAll() }
    }

    // MARK: Serving

    private func serve(_ channel: SocketChannel) async {
        counters.withLock { $0.connectionsAccepted += 1 }
        let stream: any ByteStream
        if let tls {
            do {
                let session = try await TLSStream.accept(over: channel, context: tls, deadline: .now() + 10)
                if session.isResumed { counters.withLock { $0.sessionsResumed += 1 } }
                stream = session
            } catch {
                channel.close()
                return
            }
        } else {
            stream = channel
        }
        var reader = HTTPReader(stream: stream)
        var decoder = HTTPRequestHeadDecoder()
        while true {
            guard
                case .head(let request, let framing)? = try? await reader.readRequestHead(
                    &decoder, idleDeadline: .now() + 60, headTimeout: 10)
            else { break }
            guard (try? await respond(to: request, framing: framing, reader: &reader)) == true else { break }
            if faults.closeAfterEachResponse { break }
            decoder.reset()
        }
        stream.close()
    }

    /// Answers one request; returns whether to keep the connection.
    private func respond(to request: HTTPRequestHead, framing: HTTPBodyFraming, reader: inout HTTPReader) async throws
        -> Bool
    {
        var bodyDecoder = HTTPBodyDecoder(framing: framing)
        let stream = reader.stream
        let path = String(request.path)
        let query = String(request.query)

        if path == "/oauth/token" {
            let body = try await reader.readWholeBody(&bodyDecoder, limit: 64 * 1024, deadline: .now() + 30)
            if options.tokenResponseDelay > 0 { try await Task.sleep(for: .seconds(options.tokenResponseDelay)) }
            let faults = self.faults
            if let status = faults.tokenEndpointStatus {
                counters.withLock { $0.tokenRequests += 1 }
                var headers = HTTPHeaders()
                if let retryAfter = faults.tokenEndpointRetryAfter {
                    headers.add(name: "Retry-After", value: String(retryAfter))
                }
                try await send(
                    status: status, json: #"{"error": "temporarily_unavailable"}"#, to: stream, request: request,
                    extra: headers)
                return request.isKeepAlive
            }
            let (status, json) = issueToken(method: request.method, body: body)
            try await send(status: status, json: json, to: stream, request: request)
            return request.isKeepAlive
        }
        guard path.hasPrefix("/v1/") else {
            _ = try await reader.readWholeBody(&bodyDecoder, limit: 1 << 20, deadline: .now() + 30)
            try await send(status: 404, json: #"{"error": "not_found"}"#, to: stream, request: request)
            return request.isKeepAlive
        }

        // Consume and hash the body whatever the outcome, so the connection stays in step.
        var hasher = SHA256()
        var length: UInt64 = 0
        while let part = try await reader.readBodyPart(&bodyDecoder, deadline: .now() + 60) {
            hasher.update(part)
            length += UInt64(part.count)
        }
        guard isAuthorized(request.headers) else {
            counters.withLock { $0.unauthorizedRequests += 1 }
            var headers = HTTPHeaders()
            headers.add(name: "WWW-Authenticate", value: #"Bearer error="invalid_token""#)
            try await send(
                status: 401, json: #"{"error": "invalid_token", "error_description": "missing or expired token"}"#,
                to: stream, request: request, extra: headers)
            return request.isKeepAlive
        }
        counters.withLock { $0.apiRequests += 1 }
        let record = RecordedRequest(
            method: request.method, target: request.target, headers: request.headers, bodyLength: length,
            bodySHA256: hasher.finalizeHex())
        recorded.withLock { list in
            if list.count >= 1000 { list.removeFirst() }
            list.append(record)
        }

        if path.hasPrefix("/v1/bytes/"), let count = UInt64(path.dropFirst("/v1/bytes/".count)) {
            return try await sendBytes(count, mode: query, to: stream, request: request)
        }
        if path.hasPrefix("/v1/status/"), let status = Int(path.dropFirst("/v1/status/".count)),
            (200...599).contains(status)
        {
            try await send(status: status, json: #"{"status": \#(status)}"#, to: stream, request: request)
            return request.isKeepAlive
        }
        if path == "/v1/cors" {
            var headers = HTTPHeaders()
            headers.add(name: "Access-Control-Allow-Origin", value: "*")
            headers.add(name: "Access-Control-Allow-Credentials", value: "true")
            try await send(status: 200, json: #"{"cors": true}"#, to: stream, request: request, extra: headers)
            return request.isKeepAlive
        }
        if path == "/v1/redirect" {
            var headers = HTTPHeaders()
            headers.add(name: "Location", value: "https://elsewhere.invalid/v1/echo")
            try await send(status: 302, json: #"{"redirect": true}"#, to: stream, request: request, extra: headers)
            return request.isKeepAlive
        }
        if path == "/v1/slow", let ms = query.split(separator: "=").last.flatMap({ Int($0) }) {
            try await Task.sleep(for: .milliseconds(ms))
        }
        try await send(status: 200, json: echo(record), to: stream, request: request)
        return request.isKeepAlive
    }

    private func issueToken(method: String, body: [UInt8]) -> (Int, String) {
        counters.withLock { $0.tokenRequests += 1 }
        guard method == "POST" else { return (405, #"{"error": "invalid_request"}"#) }
        let form = FormDecoding.decode(body)
        guard form["grant_type"] == "client_credentials" else {
            return (400, #"{"error": "unsupported_grant_type", "error_description": "use client_credentials"}"#)
        }
        guard form["client_id"] == options.clientID, form["client_secret"] == options.clientSecret else {
            return (401, #"{"error": "invalid_client", "error_description": "Client authentication failed"}"#)
        }
        let token = Self.randomToken()
        tokens.withLock { $0[token] = .now() + options.tokenTTL }
        counters.withLock { $0.tokensIssued += 1 }
        let ttl = options.tokenTTL == options.tokenTTL.rounded() ? String(Int(options.tokenTTL)) : "\(options.tokenTTL)"
        return (200, #"{"access_token": "\#(token)", "expires_in": \#(ttl), "token_type": "bearer"}"#)
    }

    private func isAuthorized(_ headers: HTTPHeaders) -> Bool {
        let values = headers["Authorization"]
        guard values.count == 1, values[0].hasPrefix("Bearer ") else { return false }
        let token = String(values[0].dropFirst("Bearer ".count))
        return tokens.withLock { tokens in
            guard let expiry = tokens[token] else { return false }
            return expiry > .now()
        }
    }

    private func echo(_ record: RecordedRequest) -> String {
        // Header names only, and no Authorization value: an echo must not hand the token to the caller.
        let names = record.headers.map { JSONText.string($0.name.lowercased()) }.joined(separator: ", ")
        return """
            {"method": \(JSONText.string(record.method)), "target": \(JSONText.string(record.target)), \
            "body_length": \(record.bodyLength), "body_sha256": "\(record.bodySHA256)", \
            "authorized": true, "header_names": [\(names)]}
            """
    }

    private func sendBytes(_ count: UInt64, mode: String, to stream: DirectStream, request: HTTPRequestHead)
        async throws -> Bool
    {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/octet-stream")
        let encoding: HTTPBodyWriter.Encoding
        var keepAlive = request.isKeepAlive
        switch mode {
        case "mode=chunked":
            headers.add(name: "Transfer-Encoding", value: "chunked")
            encoding = .chunked
        case "mode=die":
            // Promises the whole length, sends half, then the connection dies.
            headers.add(name: "Content-Length", value: String(count))
            encoding = .raw
            keepAlive = false
        case "mode=close":
            headers.add(name: "Connection", value: "close")
            encoding = .raw
            keepAlive = false
        default:
            headers.add(name: "Content-Length", value: String(count))
            encoding = .raw
        }
        let head = HTTPResponseHead(version: .http1_1, status: 200, reason: "OK", headers: headers)
        var bytes: [UInt8] = []
        head.serialize(into: &bytes)
        try await stream.write(bytes, deadline: .now() + 30)
        guard request.method != "HEAD" else { return keepAlive }
        var writer = HTTPBodyWriter(stream: stream, encoding: encoding)
        let piece = (0..<(64 * 1024)).map { UInt8(ascii: "a") + UInt8($0 % 26) }
        var remaining = mode == "mode=die" ? count / 2 : count
        while remaining > 0 {
            let size = Int(min(remaining, UInt64(piece.count)))
            try await writer.write(size == piece.count ? piece : Array(piece[..<size]), deadline: .now() + 30)
            remaining -= UInt64(size)
        }
        try await writer.finish(deadline: .now() + 30)
        return keepAlive
    }

    private func send(
        status: Int, json: String, to stream: DirectStream, request: HTTPRequestHead,
        extra: HTTPHeaders = HTTPHeaders()
    ) async throws {
        let body = (status == 204 || status == 304) ? [] : Array((json + "\n").utf8)
        var headers = extra
        headers.add(name: "Content-Type", value: "application/json")
        if status != 204 && status != 304 { headers.add(name: "Content-Length", value: String(body.count)) }
        if !request.isKeepAlive { headers.add(name: "Connection", value: "close") }
        let head = HTTPResponseHead(
            version: .http1_1, status: status, reason: HTTPStatus.reason(status), headers: headers)
        var bytes: [UInt8] = []
        head.serialize(into: &bytes)
        if request.method != "HEAD" { bytes += body }
        try await stream.write(bytes, deadline: .now() + 30)
    }

    /// The prefix of every token the mock issues, so a test run can search its whole output for leaked tokens.
    public static let tokenPrefix = "mocktok-"

    private static func randomToken() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        return tokenPrefix + String((0..<40).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
    }
}
