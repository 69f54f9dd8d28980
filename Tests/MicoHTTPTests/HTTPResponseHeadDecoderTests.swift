import MicoHTTP
import Testing

struct HTTPResponseHeadDecoderTests {
    @Test func decodesAResponseWithContentLength() throws {
        let input = bytes("HTTP/1.1 200 OK\r\nContent-Type: audio/mpeg\r\nContent-Length: 5\r\n\r\nhello")
        var decoder = HTTPResponseHeadDecoder()
        let result = try #require(try decoder.decode(input[...], requestMethod: "GET"))
        #expect(result.head.version == .http1_1)
        #expect(result.head.status == 200)
        #expect(result.head.reason == "OK")
        #expect(result.head.headers == ["Content-Type": "audio/mpeg", "Content-Length": "5"])
        #expect(result.framing == .contentLength(5))
        #expect(result.consumed == input.count - 5)
    }

    @Test(arguments: [
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "GET", HTTPBodyFraming.chunked),
        ("HTTP/1.1 200 OK\r\n\r\n", "GET", .untilClose),
        ("HTTP/1.0 200 OK\r\n\r\n", "GET", .untilClose),
        ("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", "HEAD", .none),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "HEAD", .none),
        ("HTTP/1.1 100 Continue\r\n\r\n", "POST", .none),
        ("HTTP/1.1 101 Switching Protocols\r\n\r\n", "GET", .none),
        ("HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n", "DELETE", .none),
        ("HTTP/1.1 304 Not Modified\r\nContent-Length: 3\r\n\r\n", "GET", .none),
        ("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", "GET", .contentLength(0)),
    ])
    func framing(input: String, method: String, framing: HTTPBodyFraming) throws {
        guard case .head(_, let actual, _) = responseOutcome(bytes(input), method: method) else {
            Issue.record("refused")
            return
        }
        #expect(actual == framing)
    }

    @Test(arguments: [
        ("HTTP/1.1 200\r\n\r\n", ""), ("HTTP/1.1 204 \r\n\r\n", ""),
        ("HTTP/1.1 418 I'm a\tteapot\r\n\r\n", "I'm a\tteapot"),
    ])
    func acceptsEmptyAndMissingReasons(input: String, reason: String) {
        guard case .head(let head, _, _) = responseOutcome(bytes(input)) else {
            Issue.record("refused")
            return
        }
        #expect(head.reason == reason)
    }

    @Test func decodesAnInterimResponseThenTheFinalOne() throws {
        let input = bytes("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")
        var decoder = HTTPResponseHeadDecoder()
        let interim = try #require(try decoder.decode(input[...], requestMethod: "POST"))
        #expect(interim.head.status == 100)
        #expect(interim.framing == .none)
        let final = try #require(try decoder.decode(input[interim.consumed...], requestMethod: "POST"))
        #expect(final.head.status == 201)
        #expect(final.framing == .contentLength(2))
        #expect(interim.consumed + final.consumed == input.count - 2)
    }

    static let rejections: [Rejection] = [
        Rejection(
            "CL+TE", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
            "content_length_with_transfer_encoding"),
        Rejection(
            "CL+TE on 204", "HTTP/1.1 204 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
            "content_length_with_transfer_encoding"),
        Rejection("TE gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "unsupported_transfer_coding"),
        Rejection(
            "TE chunked, gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 501,
            "unsupported_transfer_coding"),
        Rejection(
            "TE on 1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "transfer_encoding_http10"),
        Rejection(
            "two CL", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", 400,
            "repeated_content_length"),
        Rejection("CL signed", "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n", 400, "invalid_content_length"),
        Rejection("HTTP/2.0", "HTTP/2.0 200 OK\r\n\r\n", 505, "unsupported_version"),
        Rejection("lowercase", "http/1.1 200 OK\r\n\r\n", 400, "invalid_version"),
        Rejection("two-digit status", "HTTP/1.1 20 OK\r\n\r\n", 400, "invalid_status_line"),
        Rejection("four-digit status", "HTTP/1.1 2000 OK\r\n\r\n", 400, "invalid_status_line"),
        Rejection("status below 100", "HTTP/1.1 099 Odd\r\n\r\n", 400, "invalid_status_line"),
        Rejection("status above 599", "HTTP/1.1 600 Odd\r\n\r\n", 400, "invalid_status_line"),
        Rejection("double space", "HTTP/1.1  200 OK\r\n\r\n", 400, "invalid_status_line"),
        Rejection("no status", "HTTP/1.1\r\n\r\n", 400, "invalid_status_line"),
        Rejection("control in reason", "HTTP/1.1 200 O\u{1}K\r\n\r\n", 400, "invalid_status_line"),
        Rejection("obs-fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", 400, "obs_fold"),
        Rejection("bare LF", "HTTP/1.1 200 OK\nX: a\r\n\r\n", 400, "bare_lf"),
        Rejection("bare CR", "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", 400, "bare_cr"),
        Rejection(
            "space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\n", 400, "whitespace_before_colon"),
        Rejection("NUL in value", "HTTP/1.1 200 OK\r\nX: \u{0}\r\n\r\n", 400, "invalid_field_value"),
    ]

    @Test(arguments: rejections)
    func refuses(_ rejection: Rejection) {
        let outcome = responseOutcome(rejection.input)
        guard case .error(let error) = outcome else {
            Issue.record("\(rejection.label) was not refused")
            return
        }
        #expect(error.status == rejection.status)
        #expect(error.code == rejection.code)
        #expect(responseOutcomeByteByByte(rejection.input) == outcome)
    }

    @Test func refusesAStatusLineOverTheLimit() {
        var limits = HTTPParserLimits()
        limits.maxRequestLineBytes = 20
        var decoder = HTTPResponseHeadDecoder(limits: limits)
        let input = bytes("HTTP/1.1 200 A very long reason\r\n\r\n")
        #expect(throws: HTTPParseError.statusLineTooLong) { try decoder.decode(input[...], requestMethod: "GET") }
    }

    @Test func incrementalDecodingGivesTheSameResultAtEveryBoundary() {
        let input = bytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Request-Id: abc\r\n\r\nok")
        let whole = responseOutcome(input)
        guard case .head(_, .contentLength(2), let consumed) = whole else {
            Issue.record("unexpected \(whole)")
            return
        }
        #expect(consumed == input.count - 2)
        #expect(responseOutcomeByteByByte(input) == whole)
    }

    @Test func serialisesExactly() {
        var out: [UInt8] = []
        HTTPResponseHead(status: 204, headers: ["X-A": "1"]).serialize(into: &out)
        HTTPResponseHead(version: .http1_0, status: 502, reason: "Bad Gateway").serialize(into: &out)
        #expect(out == bytes("HTTP/1.1 204 \r\nX-A: 1\r\n\r\nHTTP/1.0 502 Bad Gateway\r\n\r\n"))
    }

    @Test func roundTripsADecodedHead() throws {
        let input = bytes("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nContent-Length: 0\r\n\r\n")
        guard case .head(let head, _, _) = responseOutcome(input) else {
            Issue.record("refused")
            return
        }
        var out: [UInt8] = []
        head.serialize(into: &out)
        #expect(out == input)
    }

    @Test(arguments: [
        ("HTTP/1.1 200 OK\r\n\r\n", true), ("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", false),
        ("HTTP/1.0 200 OK\r\n\r\n", false), ("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n\r\n", true),
    ])
    func keepAlive(input: String, expected: Bool) {
        guard case .head(let head, _, _) = responseOutcome(bytes(input)) else {
            Issue.record("refused")
            return
        }
        #expect(head.isKeepAlive == expected)
    }
}
