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
    /// The `Host` line of upstream requests (RFC 9110 §7.2): the upstream's authority.
    let host: HTTPFieldLine
    let tokens: TokenCache
    let timeouts: Timeouts
    let logger: Logger
    /// Largest request body forwarded, bytes; a chunked body that grows past it is cut off upstream and gets 413.
    var maxRequestBodyBytes: UInt64 = .max
    /// Largest request body kept while it is sent so the request can be sent again, bytes.
    var replayBufferBytes = 1 << 20
    /// Counts replays and retries, shared with whoever reports them.
    var statistics = ForwardingStatistics()

    private static let continueResponse = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    /// The proxy's own field lines, made once.
    private enum Lines {
        static let chunked = HTTPFieldLine(name: "Transfer-Encoding", value: "chunked")
        static let close = HTTPFieldLine(name: "Connection", value: "close")
        static let keepAlive = HTTPFieldLine(name: "Connection", value: "keep-alive")
        static let via1_1 = HTTPFieldLine(name: "Via", value: Forwarder.via(.http1_1))
        static let via1_0 = HTTPFieldLine(name: "Via", value: Forwarder.via(.http1_0))

        /// The `Via` line for a message received in `version`.
        static func via(for version: HTTPVersion) -> HTTPFieldLine {
            switch version {
            case .http1_1: via1_1
            case .http1_0: via1_0
            default: HTTPFieldLine(name: "Via", value: Forwarder.via(version))
            }
        }
    }

    /// Forwards `request` whose head was just read from `client`; returns whether the client connection stays open.
    ///
    /// One request may take up to three upstream attempts: a pooled connection the upstream had already closed is
    /// retried once on a fresh one, and a 401 to the current token is replayed once with a new token. Both need the
    /// whole body in hand: a body up to `replayBufferBytes` is kept while it is sent; a larger one is streamed
    /// without a copy and cannot be sent twice.
    func forward(_ request: HTTPRequestHead, framing: HTTPBodyFraming, client: inout HTTPReader) async
        -> RequestOutcome
    {
        let clientStream = client.stream
        var body = ReplayBody(limit: framing == .none ? 0 : replayBufferBytes, hasBody: framing != .none)
        var token: AccessToken
        if let held = tokens.currentValidToken() {
            // The usual case, without the async call's frame (`token(waitSeconds:)` returns the same token).
            token = held
        } else {
            do {
                token = try await tokens.token(waitSeconds: timeouts.tokenWait)
            } catch {
                return await ClientResponder.send(
                    .tokenUnavailable(error.message, retryAfter: error.retryAfterSeconds),
                    to: clientStream, request: request, bodyUnread: !body.consumed)
            }
        }
        var replayedAfter401 = false
        var retriedStale = false
        var outcome = await exchange(
            request, framing: framing, client: &client, body: &body, token: &token,
            replayedAfter401: &replayedAfter401, retriedStale: &retriedStale)
        outcome.bytesIn = body.bytesRead
        outcome.replayed = replayedAfter401
        return outcome
    }

    /// The attempts of `forward`, until one is relayed or fails for good.
    private func exchange(
        _ request: HTTPRequestHead, framing: HTTPBodyFraming, client: inout HTTPReader, body: inout ReplayBody,
        token: inout AccessToken, replayedAfter401: inout Bool, retriedStale: inout Bool
    ) async -> RequestOutcome {
        let clientStream = client.stream
        // Connection's options and the fields it names, for the upstream head and for keeping the client's
        // connection, found once for every attempt.
        let requestHopByHop = HTTPHeaderRules.HopByHopFields(of: request.headers)

        while true {
            let connection: UpstreamConnection
            do {
                connection = try await pool.acquire(fresh: retriedStale)
            } catch {
                let failure = UpstreamFailure(error, phase: .connect, origin: pool.origin)
                logger.warning("upstream unavailable", metadata: ["error": "\(failure.message)"])
                return await ClientResponder.send(
                    .upstream(failure), to: clientStream, request: request, bodyUnread: !body.consumed)
            }

            // Send the head and the body (streamed from the client the first time, from the copy after that).
            let sentAt = DispatchTime.preciseNow()
            var sendFailure: (any Error)?
            var head = upstreamHead(for: request, framing: framing, token: token, hopByHop: requestHopByHop)
            do {
                if body.consumed {
                    body.append(to: &head, framing: framing)
                    try await connection.stream.write(head, deadline: .deadline(in: timeouts.upstreamResponse))
                } else {
                    try await connection.stream.write(head, deadline: .deadline(in: timeouts.upstreamResponse))
                }
            } catch {
                sendFailure = error
            }
            if sendFailure == nil, !body.consumed {
                switch await sendBody(request, framing: framing, client: &client, to: connection, keeping: &body) {
                case .sent:
                    break
                case .tooLarge:
                    connection.close()  // The upstream sees a chunked body that never ends: nothing is acted on.
                    return await ClientResponder.send(
                        .tooLarge(limit: maxRequestBodyBytes), to: clientStream, request: request, bodyUnread: true)
                case .clientFailed(let error):
                    connection.close()
                    return await clientBodyFailed(error, request: request, to: clientStream)
                case .upstreamFailed(let error):
                    sendFailure = error
                }
            }

            // Read the response head.
            var upstreamReader = HTTPReader(stream: connection.stream)
            var response: (head: HTTPResponseHead, framing: HTTPBodyFraming)?
            var failure = sendFailure
            if failure == nil {
                var responseDecoder = HTTPResponseHeadDecoder()
                do {
                    response = try await upstreamReader.readResponseHead(
                        &responseDecoder, requestMethod: request.method,
                        deadline: .deadline(in: timeouts.upstreamResponse))
                } catch {
                    failure = error
                }
            }
            let respondedAt = DispatchTime.preciseNow()
            guard let (responseHead, responseFraming) = response else {
                connection.close()
                let error = failure ?? HTTPReadError.truncatedHead
                // A kept-alive connection the upstream closed meanwhile fails before any response byte.
                if connection.reuseCount > 0, !retriedStale, body.isReplayable,
                    Self.isStaleConnectionFailure(error, receivedBytes: upstreamReader.hasBufferedBytes)
                {
                    retriedStale = true
                    statistics.recordStaleRetry()
                    logger.info("pooled upstream connection was closed; retrying on a fresh one")
                    continue
                }
                let classified = UpstreamFailure(
                    error, phase: sendFailure == nil ? .awaitResponse : .send, origin: pool.origin)
                logger.warning("upstream exchange failed", metadata: ["error": "\(classified.message)"])
                return await ClientResponder.send(
                    .upstream(classified), to: clientStream, request: request, bodyUnread: !body.consumed)
            }

            // A 401 to the token we hold: the vendor revoked it early. Drop it (only if still current, so a burst
            // of 401s costs one fetch), get a new one and send the request once more.
            if responseHead.status == 401, !replayedAfter401, body.isReplayable {
                connection.close()
                tokens.invalidate(token)
                do {
                    token = try await tokens.token(waitSeconds: timeouts.tokenWait)
                } catch {
                    return await ClientResponder.send(
                        .tokenUnavailable(error.message, retryAfter: error.retryAfterSeconds),
                        to: clientStream, request: request, bodyUnread: false)
                }
                replayedAfter401 = true
                statistics.recordReplay()
                logger.info(
                    "upstream answered 401; replaying with a new token",
                    metadata: ["method": "\(request.method)"])
                continue
            }

            if responseHead.status == 401, !replayedAfter401 {
                // Not replayable: the client gets the 401, but the revoked token still goes. (After a replay the
                // 401 came to a brand-new token: dropping that one too would cost a fetch per request.)
                tokens.invalidate(token)
            }
            var outcome = await relay(
                responseHead, framing: responseFraming, from: &upstreamReader, connection: connection,
                for: request, keepAlive: requestHopByHop.isKeepAlive(version: request.version), to: clientStream)
            outcome.upstreamSeconds = sentAt.seconds(to: respondedAt)
            return outcome
        }
    }

    /// Relays a response to the client and ends the upstream exchange; returns whether the client connection
    /// stays open.
    private func relay(
        _ response: HTTPResponseHead, framing responseFraming: HTTPBodyFraming, from upstreamReader: inout HTTPReader,
        connection: UpstreamConnection, for request: HTTPRequestHead, keepAlive requestKeepAlive: Bool,
        to clientStream: DirectStream
    ) async -> RequestOutcome {
        let (head, encoding, clientKeepsAlive, upstreamKeepsAlive) = clientResponse(
            for: response, framing: responseFraming, request: request, requestKeepAlive: requestKeepAlive,
            bodyBytesAtHand: upstreamReader.bufferedByteCount)
        let clientDeadline = { DispatchTime.deadline(in: timeouts.client) }
        var outcome = RequestOutcome(keepOpen: false, status: response.status)
        var responseBody = HTTPBodyDecoder(framing: responseFraming)
        // The head leaves with the body bytes read along with it, or alone before the proxy waits for more.
        // Consumed: the writer's copy is then the only one, and the body is appended to it in place.
        var writer = HTTPBodyWriter(stream: clientStream, encoding: encoding, head: consume head)
        while true {
            let part: [UInt8]?
            do {
                switch try upstreamReader.bufferedBodyPart(&responseBody) {
                case .data(let bytes):
                    part = bytes
                case .end:
                    part = nil
                case .needMore:
                    do {
                        try await writer.flush(deadline: clientDeadline())
                    } catch {
                        connection.close()
                        return outcome
                    }
                    part = try await upstreamReader.readBodyPart(
                        &responseBody, deadline: .deadline(in: timeouts.upstreamResponse))
                }
            } catch {
                // Some of the response may have gone out: only a closed connection tells the client it is cut.
                connection.close()
                let failure = UpstreamFailure(error, phase: .responseBody, origin: pool.origin)
                logger.warning("upstream response body failed", metadata: ["error": "\(failure.message)"])
                return outcome
            }
            do {
                guard let part else {
                    try await writer.finish(deadline: clientDeadline())
                    break
                }
                try await writer.write(part, deadline: clientDeadline())
                outcome.bytesOut += UInt64(part.count)
            } catch {
                connection.close()
                return outcome
            }
        }
        pool.finish(
            connection, upstreamKeepsAlive: upstreamKeepsAlive, framing: responseFraming,
            strayBytes: upstreamReader.hasBufferedBytes)
        outcome.keepOpen = clientKeepsAlive
        return outcome
    }

    private func clientBodyFailed(_ error: any Error, request: HTTPRequestHead, to clientStream: DirectStream)
        async -> RequestOutcome
    {
        if let parseError = error as? HTTPParseError {
            return await ClientResponder.send(
                .malformed(parseError), to: clientStream, request: request, bodyUnread: true)
        }
        if let ioError = error as? IOError, ioError.kind == .timedOut {
            return await ClientResponder.send(.bodyTimeout, to: clientStream, request: request, bodyUnread: true)
        }
        logger.debug("client request body failed", metadata: ["error": "\(error)"])
        return RequestOutcome(keepOpen: false, status: 0)
    }

    /// Whether `error` is how a connection the upstream had already closed fails: end of stream or a reset before
    /// any byte of a response. A timeout is not: the upstream may be acting on the request.
    static func isStaleConnectionFailure(_ error: any Error, receivedBytes: Bool) -> Bool {
        guard !receivedBytes else { return false }
        switch error {
        case HTTPReadError.truncatedHead: return true
        case let error as IOError: return error.kind == .connectionReset
        case let error as TLSError: return error.kind == .unexpectedEOF
        default: return false
        }
    }

    private enum BodyOutcome {
        case sent
        case tooLarge
        case clientFailed(any Error)
        case upstreamFailed(any Error)
    }

    private func sendBody(
        _ request: HTTPRequestHead, framing: HTTPBodyFraming, client: inout HTTPReader,
        to connection: UpstreamConnection, keeping copy: inout ReplayBody
    ) async -> BodyOutcome {
        defer { copy.consumed = true }
        if request.expectsContinue && request.version == .http1_1 && !client.hasBufferedBytes {
            // RFC 9110 §10.1.1: the proxy itself invites the body once it can forward it.
            do {
                try await client.stream.write(Self.continueResponse, deadline: .deadline(in: timeouts.client))
            } catch {
                return .clientFailed(error)
            }
        }
        var decoder = HTTPBodyDecoder(framing: framing)
        var writer = HTTPBodyWriter(stream: connection.stream, encoding: framing == .chunked ? .chunked : .raw)
        var sent: UInt64 = 0
        var upstreamFailure: (any Error)?
        while true {
            let part: [UInt8]?
            do {
                part = try await client.readBodyPart(&decoder, deadline: .deadline(in: timeouts.client))
            } catch {
                return .clientFailed(error)
            }
            guard let part else {
                copy.complete = true
                if upstreamFailure == nil {
                    do {
                        try await writer.finish(deadline: .deadline(in: timeouts.upstreamResponse))
                    } catch {
                        upstreamFailure = error
                    }
                }
                return upstreamFailure.map { .upstreamFailed($0) } ?? .sent
            }
            sent += UInt64(part.count)
            if sent > maxRequestBodyBytes { return .tooLarge }
            copy.keep(part)
            // After an upstream write failure the rest is still read (and kept, if it fits), so the request can be
            // retried on a fresh connection with the whole body.
            guard upstreamFailure == nil else {
                if !copy.isKeeping { return .upstreamFailed(upstreamFailure!) }
                continue
            }
            do {
                try await writer.write(part, deadline: .deadline(in: timeouts.upstreamResponse))
            } catch {
                upstreamFailure = error
                if !copy.isKeeping { return .upstreamFailed(error) }
            }
        }
    }

    /// The head sent upstream: the proxy's `Host`, then the client's fields but the hop-by-hop ones (RFC 9110
    /// §7.6.1: named in `Connection` or not, so a client that names `Authorization` there cannot strip the token)
    /// and the client's own credentials; then the bearer token and the proxy's own framing.
    /// `hopByHop`: the request's.
    func upstreamHead(
        for request: HTTPRequestHead, framing: HTTPBodyFraming, token: AccessToken,
        hopByHop: HTTPHeaderRules.HopByHopFields
    ) -> [UInt8] {
        let authorization = token.authorizationField
        // The target goes byte for byte: no decoding, no normalising.
        var head = HTTPHeadWriter(
            method: request.method, target: request.target, version: .http1_1,
            capacity: request.method.utf8.count + request.target.utf8.count + host.wireBytes.count
                + authorization.wireBytes.count + request.headers.serializedCount + 96)
        head.add(host)
        head.copyFields(of: request.headers) { name in
            switch name.known {
            case .host, .authorization, .proxyAuthorization, .expect: false
            default: !hopByHop.contains(name)
            }
        }
        head.add(authorization)
        head.add(Lines.via(for: request.version))
        switch framing {
        case .contentLength(let length):
            head.add(contentLength: length)
        case .chunked, .untilClose:
            head.add(Lines.chunked)
        case .none:
            // RFC 9110 §8.6: a request whose method defines a body says its length even when empty.
            if ["POST", "PUT", "PATCH"].contains(request.method) {
                head.add(contentLength: 0)
            }
        }
        return head.finish()
    }

    /// The `Via` value for a message received in `version` (RFC 9110 §7.6.3).
    static func via(_ version: HTTPVersion) -> String {
        switch version {
        case .http1_1: "1.1 mico-auth-proxy"
        case .http1_0: "1.0 mico-auth-proxy"
        default: "\(version.major).\(version.minor) mico-auth-proxy"
        }
    }

    /// The head relayed to the client: the upstream's fields but the hop-by-hop and CORS ones, then the proxy's
    /// own framing for the client's HTTP version. `requestKeepAlive`: the request's `isKeepAlive`. Also says
    /// whether the upstream keeps its connection (the response's `isKeepAlive`). `bodyBytesAtHand`: how many
    /// bytes came after the head; the head's array has room for them (up to 64 KiB and a chunk's framing), since
    /// the first piece of the body leaves with it.
    func clientResponse(
        for response: HTTPResponseHead, framing: HTTPBodyFraming, request: HTTPRequestHead, requestKeepAlive: Bool,
        bodyBytesAtHand: Int
    ) -> (head: [UInt8], encoding: HTTPBodyWriter.Encoding, keepAlive: Bool, upstreamKeepsAlive: Bool) {
        let bodyRoom = framing == .none ? 0 : min(bodyBytesAtHand, 64 * 1024) + 16
        var head = HTTPHeadWriter(
            version: .http1_1, status: response.status, reason: response.reason,
            capacity: response.reason.utf8.count + response.headers.serializedCount + 128 + bodyRoom)
        let hopByHop = HTTPHeaderRules.HopByHopFields(of: response.headers)
        // The proxy never grants a browser cross-origin access, whatever the API says (CORS, Fetch §3.2).
        head.copyFields(of: response.headers) { name in
            name.known != .accessControl && !hopByHop.contains(name)
        }
        var encoding = HTTPBodyWriter.Encoding.raw
        var closeAfter = false
        switch framing {
        case .none:
            // HEAD and 304 keep the length of the representation (RFC 9110 §8.6).
            let lengths = response.headers["Content-Length"]
            if lengths.count == 1, let length = UInt64(lengths[0]), request.method == "HEAD" || response.status == 304 {
                head.add(contentLength: length)
            }
        case .contentLength(let length):
            head.add(contentLength: length)
        case .chunked, .untilClose:
            if request.version == .http1_1 {
                head.add(Lines.chunked)
                encoding = .chunked
            } else {
                closeAfter = true  // HTTP/1.0 has no chunked coding: the end of the body is the close.
            }
        }
        head.add(Lines.via(for: response.version))
        let keepAlive = requestKeepAlive && !closeAfter
        if !keepAlive {
            head.add(Lines.close)
        } else if request.version == .http1_0 {
            head.add(Lines.keepAlive)
        }
        return (head.finish(), encoding, keepAlive, hopByHop.isKeepAlive(version: response.version))
    }
}
