import Dispatch
import MicoHTTP
import MicoIO

/// Writes the proxy's own responses to a client.
enum ClientResponder {
    /// Seconds allowed for writing a response the proxy makes itself.
    static let writeTimeout: Double = 10

    /// Sends `error`; returns whether the connection may stay open: not when the error closes it, the client
    /// asked to close, or a request body is left unread (the next request would start inside it).
    static func send(
        _ error: ProxyError, to stream: DirectStream, request: HTTPRequestHead?, bodyUnread: Bool
    ) async -> RequestOutcome {
        let keepAlive = !error.closesConnection && !bodyUnread && (request?.isKeepAlive ?? false)
        let (head, body) = error.response(keepAlive: keepAlive)
        let sentBody = request?.method == "HEAD" ? [] : body
        let sent = await send(head, body: sentBody, to: stream)
        return RequestOutcome(
            keepOpen: sent && keepAlive, status: sent ? error.status : 0, bytesOut: UInt64(sent ? sentBody.count : 0))
    }

    /// A JSON response the proxy makes itself: `Content-Type`, `Content-Length`, `Cache-Control: no-store`, then
    /// `headers`, and `Connection: close` unless `keepAlive`.
    static func json(
        status: Int, members: [(String, String)], headers extra: HTTPHeaders = HTTPHeaders(), keepAlive: Bool
    ) -> (HTTPResponseHead, [UInt8]) {
        let body = Array((JSONText.object(members) + "\n").utf8)
        return response(
            status: status, contentType: "application/json", body: body, headers: extra, keepAlive: keepAlive)
    }

    /// A response the proxy makes itself: `Content-Type`, `Content-Length`, `Cache-Control: no-store`, then
    /// `headers`, and `Connection: close` unless `keepAlive`.
    static func response(
        status: Int, contentType: String, body: [UInt8], headers extra: HTTPHeaders = HTTPHeaders(), keepAlive: Bool
    ) -> (HTTPResponseHead, [UInt8]) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: String(body.count))
        headers.add(name: "Cache-Control", value: "no-store")
        for (name, value) in extra { headers.add(name: name, value: value) }
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        return (
            HTTPResponseHead(version: .http1_1, status: status, reason: HTTPStatus.reason(status), headers: headers),
            body
        )
    }

    /// Sends a complete response; false if the write failed.
    static func send(_ head: HTTPResponseHead, body: [UInt8], to stream: DirectStream) async -> Bool {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(256 + body.count)
        head.serialize(into: &bytes)
        bytes += body
        do {
            try await stream.write(bytes, deadline: .deadline(in: writeTimeout))
            return true
        } catch {
            return false
        }
    }
}
