/// Header rules a proxy applies when it forwards a message.
public enum HTTPHeaderRules {
    /// The lower-cased (ASCII) tokens of all Connection fields, without empty list elements.
    public static func connectionTokens(_ headers: HTTPHeaders) -> Set<String> {
        Set(connectionTokenList(headers))
    }

    /// The lower-cased tokens of all Connection fields in order, possibly repeated.
    static func connectionTokenList(_ headers: HTTPHeaders) -> [String] {
        var tokens: [String] = []
        forEachConnectionToken(headers) { token in
            tokens.append(
                String(unsafeUninitializedCapacity: token.count) { out in
                    for k in token.indices { out[k] = ByteClass.lowercased(token[k]) }
                    return token.count
                })
        }
        return tokens
    }

    /// Calls `body` with the UTF-8 bytes of each non-empty token of all Connection fields, in order.
    private static func forEachConnectionToken(_ headers: HTTPHeaders, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        for field in headers.fields where Latin1.equalsIgnoringCase(field.name, "connection") {
            forEachListElement(field.value) { element in
                if !element.isEmpty { body(element) }
            }
        }
    }

    /// Calls `body` with the UTF-8 bytes of each element of a comma-separated list (RFC 9110 §5.6.1), without the
    /// SP and HTAB around it, empty elements included.
    static func forEachListElement(_ list: String, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        var list = list
        list.withUTF8 { utf8 in
            var start = 0
            for i in 0...utf8.count where i == utf8.count || utf8[i] == ByteClass.comma {
                var s = start
                var e = i
                while s < e && ByteClass.isWhitespace(utf8[s]) { s += 1 }
                while e > s && ByteClass.isWhitespace(utf8[e - 1]) { e -= 1 }
                body(UnsafeBufferPointer(rebasing: utf8[s..<e]))
                start = i + 1
            }
        }
    }

    /// Removes the hop-by-hop fields: Connection and every field it names, Keep-Alive, TE, Trailer, Upgrade and
    /// Proxy-Connection; and the framing fields Transfer-Encoding and Content-Length, since the proxy writes its
    /// own framing. A field named in Connection is removed whatever it is (even Authorization or Host), so the
    /// proxy must add its own fields after calling this.
    // RFC 9110 §7.6.1: a proxy removes Connection and the fields it lists before forwarding.
    public static func removeHopByHopAndFraming(_ headers: inout HTTPHeaders) {
        let named = connectionTokenList(headers)
        headers.removeFields { field in
            isHopByHopOrFraming(field.name) || named.contains { Latin1.equalsIgnoringCase($0, field.name) }
        }
    }

    private static func isHopByHopOrFraming(_ name: String) -> Bool {
        switch name.utf8.count {
        case 2: Latin1.equalsIgnoringCase(name, "te")
        case 7: Latin1.equalsIgnoringCase(name, "trailer") || Latin1.equalsIgnoringCase(name, "upgrade")
        case 10: Latin1.equalsIgnoringCase(name, "connection") || Latin1.equalsIgnoringCase(name, "keep-alive")
        case 14: Latin1.equalsIgnoringCase(name, "content-length")
        case 16: Latin1.equalsIgnoringCase(name, "proxy-connection")
        case 17: Latin1.equalsIgnoringCase(name, "transfer-encoding")
        default: false
        }
    }

    // RFC 9112 §9.3: "close" ends the connection; HTTP/1.1 persists by default, HTTP/1.0 only with "keep-alive".
    static func isKeepAlive(version: HTTPVersion, headers: HTTPHeaders) -> Bool {
        var close = false
        var keepAlive = false
        forEachConnectionToken(headers) { token in
            if Latin1.equalsIgnoringCase(token, "close") { close = true }
            if Latin1.equalsIgnoringCase(token, "keep-alive") { keepAlive = true }
        }
        if close { return false }
        if version == .http1_1 { return true }
        return version == .http1_0 && keepAlive
    }

    /// `text` without leading and trailing SP and HTAB.
    static func trimmed(_ text: Substring) -> String {
        let utf8 = text.utf8
        guard let start = utf8.firstIndex(where: { !ByteClass.isWhitespace($0) }) else { return "" }
        let end = utf8.lastIndex(where: { !ByteClass.isWhitespace($0) })!
        return String(text[start...end])
    }
}
