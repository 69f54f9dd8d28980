/// Decodes a response head incrementally and strictly (RFC 9112 §2, §4-§6), with the same field rules as requests.
///
/// Hand `decode` all unread bytes of the upstream connection, starting at the message, each time more arrive.
/// A 1xx head is returned like any other (framing `.none`); decode again for the final response.
public struct HTTPResponseHeadDecoder: Sendable {
    private let limits: HTTPParserLimits
    private var scanner: HeadScanner
    private var statusLine: (version: HTTPVersion, status: Int, reason: String)?
    /// The fields found so far: where their names and values lie in the bytes handed to `decode`, counted from
    /// `fieldsBase`, where the line after the start line begins.
    private var fields: [HTTPHeaders.Field] = []
    private var fieldsBase = 0

    /// A decoder enforcing `limits`; `maxRequestLineBytes` bounds the status line.
    public init(limits: HTTPParserLimits = .init()) {
        self.limits = limits
        scanner = HeadScanner(limits: limits, startLineTooLong: .statusLineTooLong)
    }

    /// Returns nil when more bytes are needed; otherwise the head, its body framing and how many bytes of `bytes`
    /// it took. `requestMethod` is the method of the request this answers: responses to HEAD, and 1xx, 204 and 304
    /// responses, have no body (RFC 9112 §6.3). After returning a head the decoder is ready for the next response.
    public mutating func decode(_ bytes: ArraySlice<UInt8>, requestMethod: String) throws(HTTPParseError) -> (
        head: HTTPResponseHead, framing: HTTPBodyFraming, consumed: Int
    )? {
        if bytes.count < scanner.scanned { reset() }
        let result = bytes.withUnsafeBufferPointer { p in
            Result { () throws(HTTPParseError) in try decodeLines(p) }
        }
        let (head, consumed) = try result.get() ?? (nil, 0)
        guard let head else { return nil }
        // Validate the framing fields even when they are ignored, so a broken upstream is noticed.
        let declared = try HeadSyntax.declaredFraming(head.headers, version: head.version)
        // RFC 9112 §6.3: HEAD responses, 1xx, 204 and 304 end at the head; otherwise TE, CL, or until close.
        let framing: HTTPBodyFraming
        if requestMethod == "HEAD" || (100..<200).contains(head.status) || head.status == 204 || head.status == 304 {
            framing = .none
        } else {
            framing = declared ?? .untilClose
        }
        return (head, framing, consumed)
    }

    /// Forgets a partly decoded head, ready to decode a response from its first byte.
    public mutating func reset() {
        self = HTTPResponseHeadDecoder(limits: limits)
    }

    private mutating func decodeLines(_ p: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> (
        HTTPResponseHead?, Int
    )? {
        while let line = try scanner.nextLine(p) {
            guard let statusLine else {
                statusLine = try Self.statusLine(p, line)
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
            let head = HTTPResponseHead(
                version: statusLine.version, status: statusLine.status, reason: statusLine.reason, headers: headers)
            let consumed = scanner.scanned
            reset()
            return (head, consumed)
        }
        return nil
    }

    // RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ]; a missing second SP is accepted.
    private static func statusLine(_ p: UnsafeBufferPointer<UInt8>, _ line: Range<Int>) throws(HTTPParseError) -> (
        version: HTTPVersion, status: Int, reason: String
    ) {
        let s = line.lowerBound
        var versionEnd = s
        while versionEnd < line.upperBound && p[versionEnd] != ByteClass.sp { versionEnd += 1 }
        let version = try HeadSyntax.version(p, s..<versionEnd)
        let codeStart = versionEnd + 1
        guard line.upperBound >= codeStart + 3 else { throw .invalidStatusLine }
        var status = 0
        for k in codeStart..<codeStart + 3 {
            guard ByteClass.isDigit(p[k]) else { throw .invalidStatusLine }
            status = status * 10 + Int(p[k] - UInt8(ascii: "0"))
        }
        // RFC 9110 §15: status codes are 100-599.
        guard (100...599).contains(status) else { throw .invalidStatusLine }
        let reasonStart = codeStart + 4
        guard line.upperBound > codeStart + 3 else { return (version, status, "") }
        guard p[codeStart + 3] == ByteClass.sp else { throw .invalidStatusLine }
        // RFC 9112 §4: reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ).
        for k in reasonStart..<line.upperBound where !ByteClass.isFieldValueByte(p[k]) { throw .invalidStatusLine }
        return (version, status, Latin1.string(UnsafeBufferPointer(rebasing: p[reasonStart..<line.upperBound])))
    }
}
