import Dispatch
import Logging
import MicoHTTP
import MicoIO

/// Serves one client connection: reads requests in order (keep-alive and pipelining), answers admin paths
/// itself, refuses what the policy refuses, and hands the rest to the forwarder.
struct ClientConnection {
    /// Client-side limits and timeouts, in seconds.
    struct Limits: Sendable {
        var parser = HTTPParserLimits()
        /// The whole request head must arrive within this many seconds of its first byte.
        var headTimeout: Double = 10
        /// An idle keep-alive connection is closed after this many seconds.
        var idleTimeout: Double = 60
        /// Longest wait for each read of a request body and each write to the client, seconds.
        var bodyTimeout: Double = 60
    }

    let channel: SocketChannel
    let forwarder: Forwarder
    let admin: AdminEndpoints
    let policy: Policy
    let limits: Limits
    /// Unix-socket clients skip the Host check (no browser reaches them).
    let viaUnixSocket: Bool
    /// Set when the peer's credentials are not allowed: every request gets this, then the connection closes.
    let peerRefusal: ProxyError?
    /// Tracks whether a request is in flight, and says when the server drains.
    let membership: ConnectionRegistry.Membership
    /// Told about every finished request (access log, metrics).
    let observers: [any RequestObserver]
    let logger: Logger

    func serve() async {
        var reader = HTTPReader(stream: .socket(channel))
        var decoder = HTTPRequestHeadDecoder(limits: limits.parser)
        while true {
            let outcome: HTTPReader.HeadOutcome<HTTPRequestHead>
            do {
                outcome = try await reader.readRequestHead(
                    &decoder, idleDeadline: .deadline(in: limits.idleTimeout), headTimeout: limits.headTimeout)
            } catch let error as HTTPParseError {
                // RFC 9112 §11.2: after a framing error the connection cannot be trusted; answer and close.
                logger.info("refused malformed request", metadata: ["error": "\(error.code)"])
                _ = await ClientResponder.send(.malformed(error), to: .socket(channel), request: nil, bodyUnread: true)
                break
            } catch let error as IOError where error.kind == .timedOut {
                _ = await ClientResponder.send(.headTimeout, to: .socket(channel), request: nil, bodyUnread: true)
                break
            } catch {
                break
            }
            guard case .head(let request, let framing) = outcome else { break }
            membership.begin()
            let started = DispatchTime.preciseNow()
            let result = await handle(request, framing: framing, reader: &reader)
            if !observers.isEmpty {
                let record = Self.record(request, result, seconds: started.seconds(to: .preciseNow()))
                for observer in observers { observer.observe(record) }
            }
            guard membership.end(), result.keepOpen else { break }
            decoder.reset()
        }
        channel.close()
    }

    private static func record(_ request: HTTPRequestHead, _ outcome: RequestOutcome, seconds: Double)
        -> RequestRecord
    {
        RequestRecord(
            method: request.method, target: request.target, status: outcome.status, bytesIn: outcome.bytesIn,
            bytesOut: outcome.bytesOut, durationSeconds: seconds, upstreamSeconds: outcome.upstreamSeconds,
            replayed: outcome.replayed)
    }

    /// Answers one request.
    private func handle(_ request: HTTPRequestHead, framing: HTTPBodyFraming, reader: inout HTTPReader) async
        -> RequestOutcome
    {
        let hasBody = framing != .none
        if let refusal = peerRefusal ?? policy.refusal(for: request, framing: framing, viaUnixSocket: viaUnixSocket) {
            logger.info(
                "refused request", metadata: ["method": "\(request.method)", "error": "\(refusal.code)"])
            return await ClientResponder.send(refusal, to: .socket(channel), request: request, bodyUnread: hasBody)
        }
        if AdminEndpoints.isAdmin(request.target) {
            let (head, body) = admin.response(for: request, keepAlive: request.isKeepAlive && !hasBody)
            let sentBody = request.method == "HEAD" ? [] : body
            let sent = await ClientResponder.send(head, body: sentBody, to: .socket(channel))
            return RequestOutcome(
                keepOpen: sent && request.isKeepAlive && !hasBody, status: sent ? head.status : 0,
                bytesOut: UInt64(sent ? sentBody.count : 0))
        }
        return await forwarder.forward(request, framing: framing, client: &reader)
    }
}
