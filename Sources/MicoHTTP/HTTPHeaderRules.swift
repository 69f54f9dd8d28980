/// Header rules a proxy applies when it forwards a message.
public enum HTTPHeaderRules {
    /// Calls `body` with the bytes of each non-empty token of all Connection fields, in order.
    private static func forEachConnectionToken(_ headers: HTTPHeaders, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        headers.forEachValue(of: .connection) { value in
            forEachListElement(value) { element in
                if !element.isEmpty { body(element) }
            }
        }
    }

    /// Calls `body` with each element of a comma-separated list (RFC 9110 §5.6.1), without the SP and HTAB around
    /// it, empty elements included.
    static func forEachListElement(_ list: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        var start = 0
        for i in 0...list.count where i == list.count || list[i] == ByteClass.comma {
            var s = start
            var e = i
            while s < e && ByteClass.isWhitespace(list[s]) { s += 1 }
            while e > s && ByteClass.isWhitespace(list[e - 1]) { e -= 1 }
            body(UnsafeBufferPointer(rebasing: list[s..<e]))
            start = i + 1
        }
    }

    /// The fields of one message that a proxy does not forward: Connection and every field it names, Keep-Alive,
    /// TE, Trailer, Upgrade and Proxy-Connection; and the framing fields Transfer-Encoding and Content-Length, since
    /// the proxy writes its own framing. A field named in Connection is hop-by-hop whatever it is (even
    /// Authorization or Host), so the proxy must add its own fields after leaving these out.
    // RFC 9110 §7.6.1: a proxy removes Connection and the fields it lists before forwarding.
    ///
    /// Connection's `close` and `keep-alive` options are kept too (`isKeepAlive`): one walk over the tokens serves
    /// both questions a proxy asks of a message.
    public struct HopByHopFields {
        /// The names Connection lists beyond the fixed ones (usually none: "keep-alive" is the common token).
        private var named: [[UInt8]] = []
        private var close = false
        private var keepAlive = false

        /// The hop-by-hop fields of `headers`.
        public init(of headers: HTTPHeaders) {
            forEachConnectionToken(headers) { token in
                if ASCII.equalsIgnoringCase(token, "close") { close = true }
                if ASCII.equalsIgnoringCase(token, "keep-alive") { keepAlive = true }
                if !Self.isFixed(HTTPFieldName.Known(token)) { named.append(Array(token)) }
            }
        }

        /// Whether the sender keeps the connection open after this message, sent in `version`.
        // RFC 9112 §9.3: "close" ends the connection; HTTP/1.1 persists by default, HTTP/1.0 only with "keep-alive".
        public func isKeepAlive(version: HTTPVersion) -> Bool {
            if close { return false }
            if version == .http1_1 { return true }
            return version == .http1_0 && keepAlive
        }

        /// Whether the field called `name` is hop-by-hop or framing.
        public func contains(_ name: HTTPFieldName) -> Bool {
            if Self.isFixed(name.known) { return true }
            return !named.isEmpty
                && named.contains { token in token.withUnsafeBufferPointer { ASCII.equalsIgnoringCase($0, name.bytes) }
                }
        }

        /// The names that are hop-by-hop or framing whatever Connection says.
        private static func isFixed(_ known: HTTPFieldName.Known) -> Bool {
            switch known {
            case .te, .trailer, .upgrade, .connection, .keepAlive, .contentLength, .proxyConnection, .transferEncoding:
                true
            default:
                false
            }
        }
    }

    static func isKeepAlive(version: HTTPVersion, headers: HTTPHeaders) -> Bool {
        HopByHopFields(of: headers).isKeepAlive(version: version)
    }
}
