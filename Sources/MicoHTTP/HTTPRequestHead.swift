/// A request line and its header fields.
public struct HTTPRequestHead: Sendable, Equatable {
    /// The method, e.g. `GET`; case-sensitive (RFC 9110 §9.1).
    public var method: String
    /// The request target exactly as received: each byte one scalar, bytes >= 0x80 included.
    public var target: String
    /// The protocol version.
    public var version: HTTPVersion
    /// The header fields, in order.
    public var headers: HTTPHeaders

    /// A head with the given parts.
    public init(method: String, target: String, version: HTTPVersion = .http1_1, headers: HTTPHeaders = .init()) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
    }

    /// Appends `method SP target SP version CRLF`, each field line and the final CRLF. A decoded head serialises to
    /// its exact bytes (less any whitespace around values). Bytes that cannot appear in a method, target or field
    /// are replaced rather than written, so no part can inject a line.
    public func serialize(into bytes: inout [UInt8]) {
        // Two SPs, "HTTP/1.1" and the CRLFs after the request line and the fields.
        let capacity = method.utf8.count + target.utf8.count + 12 + headers.serializedCount + 2
        var writer = HTTPHeadWriter(method: method, target: target, version: version, capacity: capacity)
        writer.copyFields(of: headers)
        bytes.append(contentsOf: writer.finish())
    }

    /// The target's path: what comes before its first `?`, the whole target when there is none.
    public var path: Substring { Self.split(target: target).path }

    /// The target's query: what comes after its first `?`; empty when there is none.
    public var query: Substring { Self.split(target: target).query }

    /// `target` split at its first `?` byte, where the query starts (RFC 3986 §3.4).
    public static func split(target: String) -> (path: Substring, query: Substring) {
        guard let mark = target.utf8.firstIndex(of: UInt8(ascii: "?")) else { return (target[...], "") }
        return (target[..<mark], target[target.utf8.index(after: mark)...])
    }

    /// Whether the client asked to keep the connection open after this exchange.
    // RFC 9112 §9.3: "close" ends it; otherwise 1.1 persists and 1.0 persists only with "keep-alive".
    public var isKeepAlive: Bool {
        HTTPHeaderRules.isKeepAlive(version: version, headers: headers)
    }

    /// Whether the request carries `Expect: 100-continue` (compared ignoring case, RFC 9110 §10.1.1).
    public var expectsContinue: Bool {
        var expects = false
        headers.forEachValue(of: .expect) { value in
            HTTPHeaderRules.forEachListElement(value) { element in
                if ASCII.equalsIgnoringCase(element, "100-continue") { expects = true }
            }
        }
        return expects
    }
}
