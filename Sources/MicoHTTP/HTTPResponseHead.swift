/// A status line and its header fields.
public struct HTTPResponseHead: Sendable, Equatable {
    /// The protocol version.
    public var version: HTTPVersion
    /// The three-digit status code.
    public var status: Int
    /// The reason phrase, possibly empty; each wire byte one scalar.
    public var reason: String
    /// The header fields, in order.
    public var headers: HTTPHeaders

    /// A head with the given parts.
    public init(version: HTTPVersion = .http1_1, status: Int, reason: String = "", headers: HTTPHeaders = .init()) {
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers
    }

    /// Appends `version SP status SP reason CRLF` (the second SP even for an empty reason, RFC 9112 §4), each field
    /// line and the final CRLF. A status outside 0...999 is clamped; bytes that cannot appear in a reason or field
    /// are replaced rather than written, so no part can inject a line.
    public func serialize(into bytes: inout [UInt8]) {
        // "HTTP/1.1 200 " and the CRLFs after the status line and the fields.
        let capacity = 13 + reason.utf8.count + 2 + headers.serializedCount + 2
        var writer = HTTPHeadWriter(version: version, status: status, reason: reason, capacity: capacity)
        writer.copyFields(of: headers)
        bytes.append(contentsOf: writer.finish())
    }

    /// Whether the server will keep the connection open after this response, by its Connection field and version
    /// (RFC 9112 §9.3). A body framed `.untilClose` ends the connection whatever this says.
    public var isKeepAlive: Bool {
        HTTPHeaderRules.isKeepAlive(version: version, headers: headers)
    }
}
