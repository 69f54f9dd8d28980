/// Header rules a proxy applies when it forwards a message.
public enum HTTPHeaderRules {
    /// The lower-cased (ASCII) tokens of all Connection fields, without empty list elements.
    public static func connectionTokens(_ headers: HTTPHeaders) -> Set<String> {
        Set(connectionTokenList(headers))
    }

    /// The lower-cased tokens of all Connection fields in order, possibly repeated.
    static func connectionTokenList(_ headers: HTTPHeaders) -> [String] {
        var tokens: [String] = []
        for field in headers.fields where Latin1.equalsIgnoringCase(field.name, "connection") {
            var value = field.value
            value.withUTF8 { utf8 in
                var start = 0
                for i in 0...utf8.count where i == utf8.count || utf8[i] == ByteClass.comma {
                    var s = start
                    var e = i
                    while s < e && ByteClass.isWhitespace(utf8[s]) { s += 1 }
                    while e > s && ByteClass.isWhitespace(utf8[e - 1]) { e -= 1 }
                    if s < e {
                        tokens.append(
                            String(unsafeUninitializedCapacity: e - s) { out in
                                for k in s..<e { out[k - s] = ByteClass.lowercased(utf8[k]) }
                                return e - s
                            })
                    }
                    start = i + 1
                }
            }
        }
        return tokens
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
        let tokens = connectionTokenList(headers)
        if tokens.contains("close") { return false }
        if version == .http1_1 { return true }
        return version == .http1_0 && tokens.contains("keep-alive")
    }

    /// `text` without leading and trailing SP and HTAB.
    static func trimmed(_ text: Substring) -> String {
        let utf8 = text.utf8
        guard let start = utf8.firstIndex(where: { !ByteClass.isWhitespace($0) }) else { return "" }
        let end = utf8.lastIndex(where: { !ByteClass.isWhitespace($0) })!
        return String(text[start...end])
    }
}
