import MicoHTTP
import Testing

struct HTTPParserLimitsTests {
    static func limits(requestLine: Int = 8192, head: Int = 32768, fields: Int = 100) -> HTTPParserLimits {
        var limits = HTTPParserLimits()
        limits.maxRequestLineBytes = requestLine
        limits.maxHeaderBytes = head
        limits.maxHeaderCount = fields
        return limits
    }

    @Test func defaults() {
        let limits = HTTPParserLimits()
        #expect(limits.maxRequestLineBytes == 8192)
        #expect(limits.maxHeaderBytes == 32768)
        #expect(limits.maxHeaderCount == 100)
        #expect(limits.maxChunkExtensionBytes == 4096)
        #expect(limits.maxTrailerBytes == 32768)
    }

    /// A request line of exactly `length` bytes, without CRLF.
    static func requestLine(length: Int) -> [UInt8] {
        bytes("GET /") + Array(repeating: UInt8(ascii: "a"), count: length - 14) + bytes(" HTTP/1.1")
    }

    @Test func acceptsARequestLineAtTheLimit() throws {
        let input = Self.requestLine(length: 64) + bytes("\r\nHost: a\r\n\r\n")
        #expect(try decodeRequest(input, limits: Self.limits(requestLine: 64)) != nil)
    }

    @Test func refusesARequestLineOverTheLimitWith414() {
        let input = Self.requestLine(length: 65) + bytes("\r\nHost: a\r\n\r\n")
        guard case .error(let error) = requestOutcome(input, limits: Self.limits(requestLine: 64)) else {
            Issue.record("accepted")
            return
        }
        #expect(error.status == 414)
        #expect(error.code == "request_line_too_long")
    }

    @Test func decides414AsSoonAsTheLimitIsExceededWithoutCRLF() {
        let limits = Self.limits(requestLine: 64)
        let line = Array(repeating: UInt8(ascii: "a"), count: 65)
        #expect(requestOutcome(Array(line[..<64]), limits: limits) == .needMore)
        #expect(requestOutcome(line, limits: limits) == .error(.requestLineTooLong))
        #expect(requestOutcomeByteByByte(line, limits: limits) == .error(.requestLineTooLong))
    }

    @Test func acceptsAHeadAtTheLimit() throws {
        let head = bytes("GET / HTTP/1.1\r\nHost: a\r\nX: bbbb\r\n\r\n")
        #expect(try decodeRequest(head, limits: Self.limits(head: head.count)) != nil)
        #expect(requestOutcomeByteByByte(head, limits: Self.limits(head: head.count)) == requestOutcome(head))
    }

    @Test func refusesAHeadOverTheLimitWith431() {
        let head = bytes("GET / HTTP/1.1\r\nHost: a\r\nX: bbbb\r\n\r\n")
        let limits = Self.limits(head: head.count - 1)
        #expect(requestOutcome(head, limits: limits) == .error(.headTooLarge))
        #expect(requestOutcomeByteByByte(head, limits: limits) == .error(.headTooLarge))
        #expect(HTTPParseError.headTooLarge.status == 431)
        #expect(HTTPParseError.headTooLarge.code == "head_too_large")
    }

    @Test func decides431AsSoonAsTheLimitIsExceeded() {
        let limits = Self.limits(head: 100)
        let start = bytes("GET / HTTP/1.1\r\nHost: a\r\nX: ")
        let input = start + Array(repeating: UInt8(ascii: "b"), count: 100 - start.count + 1)
        #expect(requestOutcome(Array(input.dropLast()), limits: limits) == .needMore)
        #expect(requestOutcome(input, limits: limits) == .error(.headTooLarge))
        // A megabyte arriving at once is refused without waiting for a line end.
        let huge = start + Array(repeating: UInt8(ascii: "b"), count: 1 << 20)
        #expect(requestOutcome(huge, limits: limits) == .error(.headTooLarge))
    }

    @Test func leadingEmptyLinesDoNotCountTowardsTheHeadLimit() throws {
        let head = bytes("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        let input = bytes("\r\n\r\n") + head
        #expect(try decodeRequest(input, limits: Self.limits(head: head.count))?.consumed == input.count)
    }

    static func request(fields: Int) -> [UInt8] {
        var text = "GET / HTTP/1.1\r\nHost: a\r\n"
        for i in 1..<fields { text += "X-\(i): v\r\n" }
        return bytes(text + "\r\n")
    }

    @Test func acceptsFieldCountAtTheLimit() throws {
        let result = try decodeRequest(Self.request(fields: 10), limits: Self.limits(fields: 10))
        #expect(result?.head.headers.count == 10)
    }

    @Test func refusesMoreFieldsThanTheLimitWith431() {
        let input = Self.request(fields: 11)
        let limits = Self.limits(fields: 10)
        #expect(requestOutcome(input, limits: limits) == .error(.tooManyFields))
        #expect(HTTPParseError.tooManyFields.status == 431)
        // Decided when the eleventh field line ends, before the empty line arrives.
        #expect(requestOutcome(Array(input.dropLast(2)), limits: limits) == .error(.tooManyFields))
    }
}
