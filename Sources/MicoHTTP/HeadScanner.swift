/// Finds the lines of a message head incrementally, enforcing CRLF line ends and the size limits as soon as they
/// are exceeded. Offsets are relative to the start of the bytes handed to the decoder.
struct HeadScanner: Sendable {
    private let limits: HTTPParserLimits
    private let startLineTooLong: HTTPParseError
    /// First byte not yet examined.
    private(set) var scanned = 0
    /// Start of the line being scanned.
    private var lineStart = 0
    /// Start of the start line, once a byte other than an empty line's CRLF was seen.
    private var headStart: Int?
    private var leadingEmptyLines = 0
    private var linesCompleted = 0

    init(limits: HTTPParserLimits, startLineTooLong: HTTPParseError) {
        self.limits = limits
        self.startLineTooLong = startLineTooLong
    }

    var isAtStartLine: Bool { linesCompleted == 0 }

    /// The content range (without CRLF) of the next complete line, or nil when more bytes are needed.
    mutating func nextLine(_ p: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> Range<Int>? {
        let available = p.count
        if headStart == nil {
            // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request line.
            while scanned < available {
                let b = p[scanned]
                if b == ByteClass.lf { throw .bareLF }
                if b != ByteClass.cr {
                    headStart = scanned
                    lineStart = scanned
                    break
                }
                guard scanned + 1 < available else { return nil }
                guard p[scanned + 1] == ByteClass.lf else { throw .bareCR }
                leadingEmptyLines += 1
                if leadingEmptyLines > limits.maxLeadingEmptyLines { throw .tooManyLeadingEmptyLines }
                scanned += 2
            }
            guard headStart != nil else { return nil }
        }
        let headLimit = headStart! + limits.maxHeaderBytes
        // Pretend no byte past the head limit exists: a head that needs one is too large, whatever follows.
        let end = min(available, headLimit)
        var lineLimit = end
        if linesCompleted == 0 {
            lineLimit = min(end, lineStart + limits.maxRequestLineBytes + 1)
        }
        var i = scanned
        // Eight bytes at a time while none is below 0x0E, so none is CR or LF.
        while i + 8 <= lineLimit && !ByteClass.hasByte(in: ByteClass.word(p, at: i), below: 0x0E) { i += 8 }
        while i < lineLimit {
            let b = p[i]
            if b == ByteClass.cr {
                guard i + 1 < end else { break }
                // RFC 9112 §2.2: a bare CR is invalid; it is not treated as a line end.
                guard p[i + 1] == ByteClass.lf else { throw .bareCR }
                let line = lineStart..<i
                scanned = i + 2
                lineStart = scanned
                linesCompleted += 1
                // The start line and the final empty line are not fields.
                if linesCompleted > 1 && !line.isEmpty && linesCompleted - 1 > limits.maxHeaderCount {
                    throw .tooManyFields
                }
                return line
            }
            // RFC 9112 §2.2: lines end with CRLF; a bare LF is refused rather than accepted as a line end.
            if b == ByteClass.lf { throw .bareLF }
            i += 1
        }
        scanned = i
        if linesCompleted == 0 && i == lineStart + limits.maxRequestLineBytes + 1 {
            throw startLineTooLong
        }
        if available > end || (i + 1 == end && end == headLimit) {
            throw .headTooLarge
        }
        return nil
    }
}

/// Grammar shared by the request and response head decoders.
enum HeadSyntax {
    /// Parses `name ":" OWS value OWS` (RFC 9112 §5, RFC 9110 §5.1, §5.5) into the ranges of the name and of the
    /// value without the whitespace around it.
    static func fieldLine(_ p: UnsafeBufferPointer<UInt8>, _ line: Range<Int>) throws(HTTPParseError) -> (
        name: Range<Int>, value: Range<Int>
    ) {
        let start = line.lowerBound
        let end = line.upperBound
        // RFC 9112 §5.2: obs-fold (a line starting with SP or HTAB) -> 400.
        if ByteClass.isWhitespace(p[start]) { throw .obsFold }
        var i = start
        while i < end && ByteClass.isTokenChar(p[i]) { i += 1 }
        guard i < end else { throw .missingColon }
        if p[i] != ByteClass.colon {
            // RFC 9112 §5.1: no whitespace between field name and colon -> 400.
            var j = i
            while j < end && ByteClass.isWhitespace(p[j]) { j += 1 }
            if i > start && j > i && j < end && p[j] == ByteClass.colon { throw .whitespaceBeforeColon }
            throw .invalidFieldName
        }
        if i == start { throw .emptyFieldName }
        var valueStart = i + 1
        var valueEnd = end
        while valueStart < valueEnd && ByteClass.isWhitespace(p[valueStart]) { valueStart += 1 }
        while valueEnd > valueStart && ByteClass.isWhitespace(p[valueEnd - 1]) { valueEnd -= 1 }
        // Printable ASCII (SP to "~"), which any field value may hold, is checked eight bytes at a time.
        let printable = ByteClass.skipASCIIWords(p, from: valueStart, to: valueEnd, lowest: ByteClass.sp)
        for k in printable..<valueEnd where !ByteClass.isFieldValueByte(p[k]) { throw .invalidFieldValue }
        return (start..<i, valueStart..<valueEnd)
    }

    /// Checks the field line `line` of `p` and appends where its name and value lie, counted from `base`, to `fields`
    /// (see `HTTPHeaders.init(decoded:in:base:)`).
    static func addField(
        _ p: UnsafeBufferPointer<UInt8>, _ line: Range<Int>, base: Int, to fields: inout [HTTPHeaders.Field]
    ) throws(HTTPParseError) {
        let (name, value) = try fieldLine(p, line)
        fields.append(
            HTTPHeaders.Field(
                start: name.lowerBound - base, nameEnd: name.upperBound - base, valueEnd: value.upperBound - base,
                known: HTTPFieldName.Known(UnsafeBufferPointer(rebasing: p[name]))))
    }

    /// Parses `HTTP/DIGIT.DIGIT` (RFC 9112 §2.3; the name is case-sensitive). Only 1.0 and 1.1 are returned.
    static func version(_ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) throws(HTTPParseError) -> HTTPVersion {
        let prefix: StaticString = "HTTP/"
        guard range.count == 8 else { throw .invalidVersion }
        let s = range.lowerBound
        for k in 0..<5 where p[s + k] != prefix.utf8Start[k] { throw .invalidVersion }
        guard ByteClass.isDigit(p[s + 5]), p[s + 6] == UInt8(ascii: "."), ByteClass.isDigit(p[s + 7]) else {
            throw .invalidVersion
        }
        let version = HTTPVersion(major: Int(p[s + 5] - UInt8(ascii: "0")), minor: Int(p[s + 7] - UInt8(ascii: "0")))
        guard version == .http1_1 || version == .http1_0 else { throw .unsupportedVersion }
        return version
    }

    /// The body framing that the Content-Length and Transfer-Encoding fields declare (RFC 9112 §6.1-§6.3), or nil
    /// when there are neither. Throws for every ambiguous or unsupported combination.
    static func declaredFraming(_ headers: HTTPHeaders, version: HTTPVersion) throws(HTTPParseError)
        -> HTTPBodyFraming?
    {
        var contentLength: Result<UInt64, HTTPParseError>?
        var contentLengthCount = 0
        var transferEncoding: Result<Void, HTTPParseError>?
        var transferEncodingCount = 0
        headers.forEachField { name, value in
            switch name.known {
            case .contentLength:
                contentLength = Result { () throws(HTTPParseError) in try parseContentLength(value) }
                contentLengthCount += 1
            case .transferEncoding:
                transferEncoding = Result { () throws(HTTPParseError) in try checkTransferEncoding(value) }
                transferEncodingCount += 1
            default:
                break
            }
        }
        if let transferEncoding {
            // RFC 9112 §6.3: both Content-Length and Transfer-Encoding -> 400 (a smuggling vector).
            if contentLengthCount > 0 { throw .contentLengthWithTransferEncoding }
            // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message means faulty framing.
            if version == .http1_0 { throw .transferEncodingOnHTTP10 }
            if transferEncodingCount > 1 { throw .invalidTransferEncoding }
            try transferEncoding.get()
            return .chunked
        }
        guard let contentLength else { return nil }
        // RFC 9112 §6.3: repeated or list-valued Content-Length -> 400, even when the values agree.
        if contentLengthCount > 1 { throw .repeatedContentLength }
        return .contentLength(try contentLength.get())
    }

    // RFC 9110 §8.6: Content-Length = 1*DIGIT.
    private static func parseContentLength(_ digits: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> UInt64 {
        if digits.contains(ByteClass.comma) { throw .repeatedContentLength }
        guard !digits.isEmpty else { throw .invalidContentLength }
        var length: UInt64 = 0
        for b in digits {
            guard ByteClass.isDigit(b) else { throw .invalidContentLength }
            let (times10, overflow1) = length.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(b - UInt8(ascii: "0")))
            if overflow1 || overflow2 { throw .invalidContentLength }
            length = sum
        }
        return length
    }

    // RFC 9112 §6.1, §7: the only coding accepted is a single `chunked`; other well-formed codings are 501 and
    // anything else (empty elements, quotes, parameters, `chunked` twice) is 400.
    private static func checkTransferEncoding(_ value: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) {
        var malformed = false
        var chunked = 0
        var others = 0
        HTTPHeaderRules.forEachListElement(value) { coding in
            if coding.isEmpty || !coding.allSatisfy(ByteClass.isTokenChar) {
                malformed = true
            } else if ASCII.equalsIgnoringCase(coding, "chunked") {
                chunked += 1
            } else {
                others += 1
            }
        }
        if malformed || chunked > 1 { throw .invalidTransferEncoding }
        if others > 0 { throw .unsupportedTransferCoding }
        guard chunked == 1 else { throw .invalidTransferEncoding }
    }
}
