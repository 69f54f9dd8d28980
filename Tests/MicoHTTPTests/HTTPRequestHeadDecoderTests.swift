import MicoHTTP
import Testing

struct HTTPRequestHeadDecoderTests {
    @Test func decodesSimpleGet() throws {
        let input = bytes("GET /v1/voices?lang=en HTTP/1.1\r\nHost: localhost:8642\r\nAccept: */*\r\n\r\n")
        let result = try #require(try decodeRequest(input))
        #expect(result.head.method == "GET")
        #expect(result.head.target == "/v1/voices?lang=en")
        #expect(result.head.version == .http1_1)
        #expect(result.head.headers == ["Host": "localhost:8642", "Accept": "*/*"])
        #expect(result.framing == .none)
        #expect(result.consumed == input.count)
    }

    @Test func needsMoreUntilTheEmptyLine() throws {
        let input = bytes("GET / HTTP/1.1\r\nHost: a\r\n\r")
        #expect(try decodeRequest(input) == nil)
    }

    @Test func consumesOnlyTheFirstPipelinedRequest() throws {
        let first = bytes("GET /a HTTP/1.1\r\nHost: a\r\n\r\n")
        let second = bytes("GET /b HTTP/1.1\r\nHost: a\r\n\r\n")
        let input = first + second
        var decoder = HTTPRequestHeadDecoder()
        let one = try #require(try decoder.decode(input[...]))
        #expect(one.consumed == first.count)
        #expect(one.head.target == "/a")
        let two = try #require(try decoder.decode(input[one.consumed...]))
        #expect(two.head.target == "/b")
        #expect(two.consumed == second.count)
    }

    @Test func decodesFromASliceThatDoesNotStartAtZero() throws {
        var buffer = ByteBuffer(bytes("xxxxPOST /t HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"))
        buffer.moveReaderIndex(forwardBy: 4)
        var decoder = HTTPRequestHeadDecoder()
        let result = try #require(try decoder.decode(buffer.readableView))
        #expect(result.head.method == "POST")
        #expect(result.framing == .contentLength(3))
        buffer.moveReaderIndex(forwardBy: result.consumed)
        #expect(Array(buffer.readableView) == bytes("abc"))
    }

    @Test func refusesAnUnsupportedVersionAsSoonAsTheRequestLineEnds() {
        var decoder = HTTPRequestHeadDecoder()
        #expect(throws: HTTPParseError.unsupportedVersion) { try decoder.decode(bytes("PRI * HTTP/2.0\r\n")[...]) }
        #expect(HTTPParseError.unsupportedVersion.status == 505)
    }

    @Test func resetAbandonsAPartialHead() throws {
        var decoder = HTTPRequestHeadDecoder()
        #expect(try decoder.decode(bytes("POST /a HTTP/1.1\r\nHost: a\r\nX-Old: 1\r\n")[...]) == nil)
        decoder.reset()
        let result = try #require(try decoder.decode(bytes("GET /b HTTP/1.1\r\nHost: b\r\n\r\n")[...]))
        #expect(result.head.method == "GET")
        #expect(result.head.headers == ["Host": "b"])
    }

    @Test func acceptsUpToEightLeadingEmptyLines() throws {
        let request = bytes("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        let input = Array(repeating: bytes("\r\n"), count: 8).flatMap { $0 } + request
        let result = try #require(try decodeRequest(input))
        #expect(result.consumed == 16 + request.count)
        #expect(result.head.target == "/")
    }

    @Test func refusesNineLeadingEmptyLines() {
        let input = Array(repeating: bytes("\r\n"), count: 9).flatMap { $0 } + bytes("GET / HTTP/1.1\r\n")
        #expect(throws: HTTPParseError.tooManyLeadingEmptyLines) { try decodeRequest(input) }
    }

    @Test func trimsWhitespaceAroundValuesAndKeepsInnerBytes() throws {
        let input = bytes("GET / HTTP/1.1\r\nHost: a\r\nX-A: \t a \t b \t\r\nX-B:\r\nX-C:   \r\n\r\n")
        let result = try #require(try decodeRequest(input))
        #expect(result.head.headers["x-a"] == ["a \t b"])
        #expect(result.head.headers["X-B"] == [""])
        #expect(result.head.headers["x-c"] == [""])
    }

    @Test func serialisesEachFieldAsNameColonSpaceValueWhateverTheWhitespaceWas() throws {
        let input = bytes(
            "GET / HTTP/1.1\r\nHost: a\r\nX-A:1\r\nX-B: \t two  words \t\r\nX-C: c\r\nX-D: d\r\nX-E:\r\nX-F: \r\n"
                + "X-G:  \r\nX-H: h \r\n\r\n")
        let result = try #require(try decodeRequest(input))
        var out: [UInt8] = []
        result.head.serialize(into: &out)
        #expect(
            String(decoding: out, as: UTF8.self)
                == "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nX-B: two  words\r\nX-C: c\r\nX-D: d\r\nX-E: \r\nX-F: \r\n"
                + "X-G: \r\nX-H: h\r\n\r\n")
        #expect(result.head.headers.map(\.value) == ["a", "1", "two  words", "c", "d", "", "", "", "h"])
    }

    @Test(arguments: ["chunked", "\tchunked", "CHUNKED", "Chunked \t", " chunked"])
    func acceptsAFinalChunked(value: String) throws {
        let input = bytes("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\(value)\r\n\r\n")
        #expect(try decodeRequest(input)?.framing == .chunked)
    }

    @Test(arguments: [
        ("0", UInt64(0)), ("5", 5), ("007", 7), ("18446744073709551615", UInt64.max), (" 42 ", 42),
    ])
    func acceptsDecimalContentLength(value: String, length: UInt64) throws {
        let input = bytes("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length:\(value)\r\n\r\n")
        #expect(try decodeRequest(input)?.framing == .contentLength(length))
    }

    @Test func acceptsHTTP10WithoutHost() throws {
        let result = try #require(try decodeRequest(bytes("GET / HTTP/1.0\r\n\r\n")))
        #expect(result.head.version == .http1_0)
        #expect(result.head.headers.count == 0)
    }

    @Test func keepsHighBytesInTargetAndValuesAndSerialisesThemBack() throws {
        let input: [UInt8] =
            bytes("GET /caf") + [0xE9, 0x80] + bytes(" HTTP/1.1\r\nHost: a\r\nX-Name: Jos") + [0xE9, 0xFF]
            + bytes("\r\n\r\n")
        let result = try #require(try decodeRequest(input))
        #expect(result.head.target == "/caf\u{E9}\u{80}")
        #expect(result.head.headers.first("x-name") == "Jos\u{E9}\u{FF}")
        var out: [UInt8] = []
        result.head.serialize(into: &out)
        #expect(out == input)
    }

    @Test func recognisesHostPortAndIPv6Literal() throws {
        let input = bytes("GET / HTTP/1.1\r\nHost: [::1]:8642\r\n\r\n")
        #expect(try decodeRequest(input)?.head.headers.first("host") == "[::1]:8642")
    }

    static let rejections: [Rejection] = [
        // Framing ambiguities (RFC 9112 §6).
        Rejection(
            "CL+TE", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
            400, "content_length_with_transfer_encoding"),
        Rejection(
            "TE+CL", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
            400, "content_length_with_transfer_encoding"),
        Rejection(
            "two equal CL", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
            400, "repeated_content_length"),
        Rejection(
            "two differing CL", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            400, "repeated_content_length"),
        Rejection(
            "CL list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", 400, "repeated_content_length"),
        Rejection("CL empty", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n", 400, "invalid_content_length"),
        Rejection("CL plus", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", 400, "invalid_content_length"),
        Rejection(
            "CL minus", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -5\r\n\r\n", 400, "invalid_content_length"),
        Rejection("CL hex", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n", 400, "invalid_content_length"),
        Rejection(
            "CL suffix", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5a\r\n\r\n", 400, "invalid_content_length"),
        Rejection(
            "CL inner space", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 5\r\n\r\n", 400,
            "invalid_content_length"),
        Rejection(
            "CL overflow", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551616\r\n\r\n", 400,
            "invalid_content_length"),
        Rejection(
            "TE xchunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", 501,
            "unsupported_transfer_coding"),
        Rejection(
            "TE chunked, gzip", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 501,
            "unsupported_transfer_coding"),
        Rejection(
            "TE gzip, chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501,
            "unsupported_transfer_coding"),
        Rejection(
            "TE identity", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", 501,
            "unsupported_transfer_coding"),
        Rejection(
            "TE empty", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n", 400,
            "invalid_transfer_encoding"),
        Rejection(
            "TE quoted", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \"chunked\"\r\n\r\n", 400,
            "invalid_transfer_encoding"),
        Rejection(
            "TE twice in list", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400,
            "invalid_transfer_encoding"),
        Rejection(
            "TE trailing comma", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked,\r\n\r\n", 400,
            "invalid_transfer_encoding"),
        Rejection(
            "TE parameter", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;q=1\r\n\r\n", 400,
            "invalid_transfer_encoding"),
        Rejection(
            "TE two fields",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
            "invalid_transfer_encoding"),
        Rejection(
            "TE on 1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "transfer_encoding_http10"),
        // Field syntax (RFC 9112 §5, RFC 9110 §5).
        Rejection("space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, "whitespace_before_colon"),
        Rejection(
            "tab before colon", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length\t: 0\r\n\r\n", 400,
            "whitespace_before_colon"),
        Rejection("obs-fold SP", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 400, "obs_fold"),
        Rejection("obs-fold HTAB", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n", 400, "obs_fold"),
        Rejection("bare CR in value", "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", 400, "bare_cr"),
        Rejection("bare CR in request line", "GET /\r HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bare_cr"),
        Rejection("bare CR as line end", "GET / HTTP/1.1\r\nHost: a\r\r\n\r\n", 400, "bare_cr"),
        Rejection("bare LF after request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400, "bare_lf"),
        Rejection("bare LF after field", "GET / HTTP/1.1\r\nHost: a\n\r\n", 400, "bare_lf"),
        Rejection("bare LF as empty line", "GET / HTTP/1.1\r\nHost: a\r\n\n", 400, "bare_lf"),
        Rejection("bare LF leading", "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bare_lf"),
        Rejection("NUL in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\u{0}b\r\n\r\n", 400, "invalid_field_value"),
        Rejection("SOH in value", "GET / HTTP/1.1\r\nHost: a\r\nX: \u{1}\r\n\r\n", 400, "invalid_field_value"),
        Rejection("US in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\u{1F}\r\n\r\n", 400, "invalid_field_value"),
        Rejection("DEL in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\u{7F}\r\n\r\n", 400, "invalid_field_value"),
        Rejection("NUL in name", "GET / HTTP/1.1\r\nHost: a\r\nX\u{0}Y: b\r\n\r\n", 400, "invalid_field_name"),
        Rejection("paren in name", "GET / HTTP/1.1\r\nHost: a\r\nX(Y): b\r\n\r\n", 400, "invalid_field_name"),
        Rejection("slash in name", "GET / HTTP/1.1\r\nHost: a\r\nX/Y: b\r\n\r\n", 400, "invalid_field_name"),
        Rejection("quoted name", "GET / HTTP/1.1\r\nHost: a\r\n\"X\": b\r\n\r\n", 400, "invalid_field_name"),
        Rejection("inner space in name", "GET / HTTP/1.1\r\nHost: a\r\nX Y: b\r\n\r\n", 400, "invalid_field_name"),
        Rejection(
            "high byte in name", bytes("GET / HTTP/1.1\r\nHost: a\r\nX") + [0xE9] + bytes(": b\r\n\r\n"), 400,
            "invalid_field_name"),
        Rejection("empty name", "GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", 400, "empty_field_name"),
        Rejection("no colon", "GET / HTTP/1.1\r\nHost: a\r\nJustAName\r\n\r\n", 400, "missing_colon"),
        // Host (RFC 9112 §3.2).
        Rejection("no Host on 1.1", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400, "missing_host"),
        Rejection("two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", 400, "repeated_host"),
        Rejection("two Hosts on 1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400, "repeated_host"),
        Rejection("Host list", "GET / HTTP/1.1\r\nHost: a,b\r\n\r\n", 400, "invalid_host"),
        Rejection("Host inner space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, "invalid_host"),
        Rejection("Host whitespace only", "GET / HTTP/1.1\r\nHost:  \t \r\n\r\n", 400, "invalid_host"),
        Rejection("Host userinfo", "GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", 400, "invalid_host"),
        Rejection("Host path", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, "invalid_host"),
        // Request line (RFC 9112 §3).
        Rejection("HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, "unsupported_version"),
        Rejection("HTTP/1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505, "unsupported_version"),
        Rejection("HTTP/0.9", "GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505, "unsupported_version"),
        Rejection("h2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, "unsupported_version"),
        Rejection("lowercase version", "GET / http/1.1\r\nHost: a\r\n\r\n", 400, "invalid_version"),
        Rejection("two-digit version", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400, "invalid_version"),
        Rejection("version without dot", "GET / HTTP/11\r\nHost: a\r\n\r\n", 400, "invalid_version"),
        Rejection("trailing space", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400, "invalid_version"),
        Rejection("no version", "GET /\r\nHost: a\r\n\r\n", 400, "invalid_request_line"),
        Rejection("only a method", "GET\r\n\r\n", 400, "invalid_request_line"),
        Rejection("double space", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_request_line"),
        Rejection("leading space", " GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_request_line"),
        Rejection("tabs as separators", "GET\t/\tHTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_request_line"),
        Rejection("method not a token", "GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_method"),
        Rejection("NUL in method", "GE\u{0}T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_method"),
        Rejection("tab in target", "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_target"),
        Rejection("NUL in target", "GET /a\u{0}b HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_target"),
        Rejection("DEL in target", "GET /a\u{7F} HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_target"),
        Rejection("control in target", "GET /\u{1B}[0m HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_target"),
    ]

    @Test(arguments: rejections)
    func refuses(_ rejection: Rejection) {
        guard case .error(let error) = requestOutcome(rejection.input) else {
            Issue.record("\(rejection.label) was not refused")
            return
        }
        #expect(error.status == rejection.status)
        #expect(error.code == rejection.code)
    }

    @Test(arguments: rejections)
    func refusesTheSameWayWhenFedByteByByte(_ rejection: Rejection) {
        #expect(requestOutcomeByteByByte(rejection.input) == requestOutcome(rejection.input))
    }

    static let accepted: [String] = [
        "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "\r\n\r\nPOST /v1/tts HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\nX-Empty:\r\n\r\nbody follows",
        "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n",
        "GET /q?a=1&b=%20 HTTP/1.0\r\nConnection: keep-alive\r\nX-Spaces:  a  b  \r\n\r\n",
    ]

    @Test(arguments: accepted)
    func incrementalDecodingGivesTheSameResultAtEveryBoundary(_ text: String) throws {
        let input = bytes(text)
        let whole = requestOutcome(input)
        guard case .head(_, _, let consumed) = whole else {
            Issue.record("not accepted: \(whole)")
            return
        }
        #expect(requestOutcomeByteByByte(input) == whole)
        for split in 0...input.count {
            #expect(requestOutcomeSplit(input, at: split) == whole, "split at \(split)")
        }
        for end in 0..<consumed {
            #expect(requestOutcome(Array(input[..<end])) == .needMore, "prefix of \(end) bytes")
        }
    }

    @Test func errorMessagesNeverContainFieldValues() {
        let secret = "Bearer-sk-live-1234567890"
        let inputs = [
            "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: \(secret)\u{1}\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: \(secret) x\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: \(secret)\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \(secret)\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nAuthorization : \(secret)\r\n\r\n",
        ]
        for input in inputs {
            guard case .error(let error) = requestOutcome(bytes(input)) else {
                Issue.record("not refused: \(input)")
                continue
            }
            #expect(!error.message.contains("sk-live"))
            #expect(!error.description.contains("sk-live"))
        }
    }
}
