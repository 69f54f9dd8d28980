/// Decodes a request head incrementally and strictly (RFC 9112 §2-§6).
///
/// Hand `decode` all unread bytes of the connection, starting at the message, each time more arrive; it
/// remembers how far it has scanned and validates each line as soon as it is complete. Every ambiguity a
/// request smuggler could use is refused with an `HTTPParseError`, after which the connection should be closed.
public struct HTTPRequestHeadDecoder: Sendable {
    private let limits: HTTPParserLimits
    private var scanner: HeadScanner
    private var requestLine: (method: String, target: String, version: HTTPVersion)?
    /// The fields found so far: where their names and values lie in the bytes handed to `decode`, counted from
    /// `fieldsBase`, where the line after the start line begins.
    private var fields: [HTTPHeaders.Field] = []
    private var fieldsBase = 0

    /// A decoder enforcing `limits`.
    public init(limits: HTTPParserLimits = .init()) {
        self.limits = limits
        scanner = HeadScanner(limits: limits, startLineTooLong: .requestLineTooLong)
    }

    /// Returns nil when more bytes are needed; otherwise the head, its body framing (`.none`, `.contentLength` or
    /// `.chunked`, never `.untilClose`) and how many bytes of `bytes` it took, leading empty lines included. After
    /// returning a head the decoder is ready for the next request.
    public mutating func decode(_ bytes: ArraySlice<UInt8>) throws(HTTPParseError) -> (
        head: HTTPRequestHead, framing: HTTPBodyFraming, consumed: Int
    )? {
        if bytes.count < scanner.scanned { reset() }
        let result = bytes.withUnsafeBufferPointer { p in
            Result { () throws(HTTPParseError) in try decodeLines(p) }
        }
        let (head, consumed) = try result.get() ?? (nil, 0)
        guard let head else { return nil }
        // RFC 9112 §6.3: a request without Content-Length or Transfer-Encoding has no body.
        let framing = try HeadSyntax.declaredFraming(head.headers, version: head.version) ?? .none
        return (head, framing, consumed)
    }

    /// Forgets a partly decoded head, ready to decode a request from its first byte.
    public mutating func reset() {
        self = HTTPRequestHeadDecoder(limits: limits)
    }

    private mutating func decodeLines(_ p: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> (
        HTTPRequestHead?, Int
    )? {
        while let line = try scanner.nextLine(p) {
            guard let requestLine else {
                requestLine = try Self.requestLine(p, line)
                fieldsBase = scanner.scanned
                fields.reserveCapacity(16)  // A typical head's, without growing.
                continue
            }
            if !line.isEmpty {
                try HeadSyntax.addField(p, line, base: fieldsBase, to: &fields)
                continue
            }
            var found: [HTTPHeaders.Field] = []
            swap(&found, &fields)  // The decoder lets go of the array, so the headers take it without a copy.
            let headers = HTTPHeaders(decoded: found, in: p, base: fieldsBase)
            try Self.checkHost(headers, version: requestLine.version)
            let head = HTTPRequestHead(
                method: requestLine.method, target: requestLine.target, version: requestLine.version,
                headers: headers)
            let consumed = scanner.scanned
            reset()
            return (head, consumed)
        }
        return nil
    }

    // RFC 9112 §3: request-line = method SP request-target SP HTTP-version, single spaces.
    private static func requestLine(_ p: UnsafeBufferPointer<UInt8>, _ line: Range<Int>) throws(HTTPParseError) -> (
        method: String, target: String, version: HTTPVersion
    ) {
        var i = line.lowerBound
        while i < line.upperBound && p[i] != ByteClass.sp { i += 1 }
        let methodEnd = i
        guard methodEnd > line.lowerBound, methodEnd < line.upperBound else { throw .invalidRequestLine }
        i += 1
        while i < line.upperBound && p[i] != ByteClass.sp { i += 1 }
        let targetEnd = i
        guard targetEnd > methodEnd + 1, targetEnd < line.upperBound else { throw .invalidRequestLine }
        let version = try HeadSyntax.version(p, targetEnd + 1..<line.upperBound)
        // RFC 9110 §9.1: method = token.
        for k in line.lowerBound..<methodEnd where !ByteClass.isTokenChar(p[k]) { throw .invalidMethod }
        for k in methodEnd + 1..<targetEnd where !ByteClass.isTargetByte(p[k]) { throw .invalidTarget }
        let method = String(decoding: UnsafeBufferPointer(rebasing: p[line.lowerBound..<methodEnd]), as: UTF8.self)
        let target = Latin1.string(UnsafeBufferPointer(rebasing: p[methodEnd + 1..<targetEnd]))
        return (method, target, version)
    }

    // RFC 9112 §3.2: an HTTP/1.1 request has exactly one Host; any request with more than one, or an invalid
    // one, -> 400.
    private static func checkHost(_ headers: HTTPHeaders, version: HTTPVersion) throws(HTTPParseError) {
        var hosts = 0
        var valid = false
        headers.forEachValue(of: .host) { value in
            hosts += 1
            valid = !value.isEmpty && value.allSatisfy(ByteClass.isHostByte)
        }
        if hosts > 1 { throw .repeatedHost }
        if hosts == 0 {
            if version == .http1_1 { throw .missingHost }
            return
        }
        guard valid else { throw .invalidHost }
    }
}
