import Dispatch
import Logging
import MicoHTTP
import MicoIO

/// Forwards one request to the upstream API with the bearer token injected, and relays the response.
///
/// Bodies stream both ways a piece at a time: what is held in memory is one read buffer per side, whatever the
/// body's size, and a slow reader on either side slows the writer on the other (backpressure).
struct Forwarder: Sendable {
    /// Timeouts the forwarder applies, in seconds.
    struct Timeouts: Sendable {
        /// Longest wait for a valid token.
        var tokenWait: Double
        /// Longest wait for each response read (and each request write) on the upstream side.
        var upstreamResponse: Double
        /// Longest wait for each read of a request body and each write of a response to the client.
        var client: Double
    }

    let pool: UpstreamPool
    /// `Host` for upstream requests (RFC 9110 §7.2).
    let upstreamAuthority: String
    let tokens: TokenCache
    let timeouts: Timeouts
    let logger: Logger
    /// Largest request body forwarded, bytes; a chunked body that grows past it is cut off upstream and gets 413.
    var maxRequestBodyBytes: UInt64 = .max

    private static let continueResponse = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    /// Forwards `request` whose head was just read from `client`; returns whether the client connection stays open.
    func forward(_ request: HTTPRequestHead, framing: HTTPBodyFraming, client: inout HTTPReader) async -> Bool {
        let clientStream = client.stream
        let hasBody = framing != .none
        let token: AccessToken
        do {
            token = try await tokens.token(waitSeconds: timeouts.tokenWait)
        } catch {
            return await ClientResponder.send(
                .tokenUnavailable(error.message, retryAfter: error.retryAfterSeconds),
                to: clientStream, request: request, bodyUnread: hasBody)
        }

        let connection: UpstreamConnection
        do {
            connection = try await pool.acquire()
        } catch {
            let failure = UpstreamFailure(error, phase: .connect, origin: pool.origin)
            logger.warning("upstream unavailable", metadata: ["error": "\(failure.message)"])
            return await ClientResponder.send(
                .upstream(failure), to: clientStream, request: request, bodyUnread: hasBody)
        }

        // Send the head and body.
        var head: [UInt8] = []
        upstreamHead(for: request, framing: framing, token: token).serialize(into: &head)
        do {
            try await connection.stream.write(head, deadline: .now() + timeouts.upstreamResponse)
        } catch {
            connection.close()
            let failure = UpstreamFailure(error, phase: .send, origin: pool.origin)
            return await ClientResponder.send(
                .upstream(failure), to: clientStream, request: request, bodyUnread: hasBody)
        }
        if hasBody {
            switch await sendBody(request, framing: framing, client: &client, to: connection) {
            case .sent:
                break
            case .tooLarge:
                connection.close()  // The upstream sees a chunked body that never ends: nothing is acted on.
                return await ClientResponder.send(
                    .tooLarge(limit: maxRequestBodyBytes), to: clientStream, request: request, bodyUnread: true)
            case .clientFailed(let error):
                connection.close()
                if let parseError = error as? HTTPParseError {
                    return await ClientResponder.send(
                        .malformed(parseError), to: clientStream, request: request, bodyUnread: true)
                }
                if let ioError = error as? IOError, ioError.kind == .timedOut {
                    return await ClientResponder.send(
                        .bodyTimeout, to: clientStream, request: request, bodyUnread: true)
                }
                logger.debug("client request body failed", metadata: ["error": "\(error)"])
                return false
            case .upstreamFailed(let error):
                connection.close()
                let failure = UpstreamFailure(error, phase: .send, origin: pool.origin)
                return await ClientResponder.send(
                    .upstream(failure), to: clientStream, request: request, bodyUnread: true)
            }
        }

        // Read the response head.
        var upstreamReader = HTTPReader(stream: connection.stream)
        var responseDecoder = HTTPResponseHeadDecoder()
        let response: HTTPResponseHead
        let responseFraming: HTTPBodyFraming
        do {
            (response, responseFraming) = try await upstreamReader.readResponseHead(
                &responseDecoder, requestMethod: request.method, deadline: .now() + timeouts.upstreamResponse)
        } catch {
            connection.close()
            let failure = UpstreamFailure(error, phase: .awaitResponse, origin: pool.origin)
            logger.warning("upstream response failed", metadata: ["error": "\(failure.message)"])
            return await ClientResponder.send(
                .upstream(failure), to: clientStream, request: request, bodyUnread: false)
        }

        // Relay it.
        let relay = clientResponse(for: response, framing: responseFraming, request: request)
        var bytes: [UInt8] = []
        relay.head.serialize(into: &bytes)
        let clientDeadline = { DispatchTime.now() + timeouts.client }
        do {
            try await clientStream.write(bytes, deadline: clientDeadline())
        } catch {
            connection.close()
            return false
        }
        var responseBody = HTTPBodyDecoder(framing: responseFraming)
        let writer = HTTPBodyWriter(stream: clientStream, encoding: relay.encoding)
        while true {
            let part: [UInt8]?
            do {
                part = try await upstreamReader.readBodyPart(
                    &responseBody, deadline: .now() + timeouts.upstreamResponse)
            } catch {
                // Some of the response already went out: only a closed connection tells the client it is cut.
                connection.close()
                let failure = UpstreamFailure(error, phase: .responseBody, origin: pool.origin)
                logger.warning("upstream response body failed", metadata: ["error": "\(failure.message)"])
                return false
            }
            do {
                guard let part else {
                    try await writer.finish(deadline: clientDeadline())
                    break
                }
                try await writer.write(part, deadline: clientDeadline())
            } catch {
                connection.close()
                return false
            }
        }

        pool.finish(
            connection, response: response, framing: responseFraming, strayBytes: upstreamReader.hasBufferedBytes)
        return relay.keepAlive
    }

    private enum BodyOutcome {
        case sent
        case tooLarge
        case clientFailed(any Error)
        case upstreamFailed(any Error)
    }

    private func sendBody(
        _ request: HTTPRequestHead, framing: HTTPBodyFraming, client: inout HTTPReader,
        to connection: UpstreamConnection
    ) async -> BodyOutcome {
        if request.expectsContinue && request.version == .http1_1 && !client.hasBufferedBytes {
            // RFC 9110 §10.1.1: the proxy itself invites the body once it can forward it.
            do {
                try await client.stream.write(Self.continueResponse, deadline: .now() + timeouts.client)
            } catch {
                return .clientFailed(error)
            }
        }
        var decoder = HTTPBodyDecoder(framing: framing)
        let writer = HTTPBodyWriter(stream: connection.stream, encoding: framing == .chunked ? .chunked : .raw)
        var sent: UInt64 = 0
        while true {
            let part: [UInt8]?
            do {
                part = try await client.readBodyPart(&decoder, deadline: .now() + timeouts.client)
            } catch {
                return .clientFailed(error)
            }
            do {
                guard let part else {
                    try await writer.finish(deadline: .now() + timeouts.upstreamResponse)
                    return .sent
                }
                sent += UInt64(part.count)
                if sent > maxRequestBodyBytes { return .tooLarge }
                try await writer.write(part, deadline: .now() + timeouts.upstreamResponse)
            } catch {
                return .upstreamFailed(error)
            }
        }
    }

    /// The head sent upstream: hop-by-hop fields go first (RFC 9110 §7.6.1), so a client that names
    /// `Authorization` in `Connection` cannot strip the token; then the client's own credentials go, and the
    /// proxy adds `Host`, the bearer token and its own framing.
    func upstreamHead(for request: HTTPRequestHead, framing: HTTPBodyFraming, token: AccessToken) -> HTTPRequestHead {
        var fields = request.headers
        HTTPHeaderRules.removeHopByHopAndFraming(&fields)
        for name in ["Host", "Authorization", "Proxy-Authorization", "Expect"] {
            fields.remove(name: name)
        }
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: upstreamAuthority)
        for (name, value) in fields {
            headers.add(name: name, value: value)
        }
        headers.add(name: "Authorization", value: "Bearer \(token.value)")
        headers.add(name: "Via", value: "\(request.version.major).\(request.version.minor) mico-auth-proxy")
        switch framing {
        case .contentLength(let length):
            headers.add(name: "Content-Length", value: String(length))
        case .chunked, .untilClose:
            headers.add(name: "Transfer-Encoding", value: "chunked")
        case .none:
            // RFC 9110 §8.6: a request whose method defines a body says its length even when empty.
            if ["POST", "PUT", "PATCH"].contains(request.method) {
                headers.add(name: "Content-Length", value: "0")
            }
        }
        // The target goes byte for byte: no decoding, no normalising.
        return HTTPRequestHead(method: request.method, target: request.target, version: .http1_1, headers: headers)
    }

    /// The head relayed to the client, with the proxy's own framing for the client's HTTP version.
    func clientResponse(
        for response: HTTPResponseHead, framing: HTTPBodyFraming, request: HTTPRequestHead
    ) -> (head: HTTPResponseHead, encoding: HTTPBodyWriter.Encoding, keepAlive: Bool) {
        var headers = response.headers
        HTTPHeaderRules.removeHopByHopAndFraming(&headers)
        // The proxy never grants a browser cross-origin access, whatever the API says (CORS, Fetch §3.2).
        headers.removeAll { name, _ in name.lowercased().hasPrefix("access-control-") }
        var encoding = HTTPBodyWriter.Encoding.raw
        var closeAfter = false
        switch framing {
        case .none:
            // HEAD and 304 keep the length of the representation (RFC 9110 §8.6).
            let lengths = response.headers["Content-Length"]
            if lengths.count == 1, let length = UInt64(lengths[0]), request.method == "HEAD" || response.status == 304 {
                headers.add(name: "Content-Length", value: String(length))
            }
        case .contentLength(let length):
            headers.add(name: "Content-Length", value: String(length))
        case .chunked, .untilClose:
            if request.version == .http1_1 {
                headers.add(name: "Transfer-Encoding", value: "chunked")
                encoding = .chunked
            } else {
                closeAfter = true  // HTTP/1.0 has no chunked coding: the end of the body is the close.
            }
        }
        headers.add(name: "Via", value: "\(response.version.major).\(response.version.minor) mico-auth-proxy")
        let keepAlive = request.isKeepAlive && !closeAfter
        if !keepAlive {
            headers.add(name: "Connection", value: "close")
        } else if request.version == .http1_0 {
            headers.add(name: "Connection", value: "keep-alive")
        }
        let head = HTTPResponseHead(
            version: .http1_1, status: response.status, reason: response.reason, headers: headers)
        return (head, encoding, keepAlive)
    }
}
