import MicoHTTP
import Testing

struct HTTPBodyDecoderTests {
    @Test func noBodyEndsAtOnceAndConsumesNothing() throws {
        var decoder = HTTPBodyDecoder(framing: .none)
        var buffer = ByteBuffer(bytes("GET"))
        #expect(decoder.isComplete)
        #expect(try decoder.next(from: &buffer) == .end)
        #expect(buffer.readableBytes == 3)
    }

    @Test func contentLengthStopsAtTheEndOfTheBody() throws {
        var decoder = HTTPBodyDecoder(framing: .contentLength(5))
        var buffer = ByteBuffer(bytes("helloGET /next"))
        #expect(try decoder.next(from: &buffer) == .data(bytes("hello")))
        #expect(decoder.isComplete)
        #expect(try decoder.next(from: &buffer) == .end)
        #expect(Array(buffer.readableView) == bytes("GET /next"))
        #expect(decoder.bytesDecoded == 5)
    }

    @Test func contentLengthDeliversWhatIsAvailable() throws {
        var decoder = HTTPBodyDecoder(framing: .contentLength(5))
        var buffer = ByteBuffer(bytes("he"))
        #expect(try decoder.next(from: &buffer) == .data(bytes("he")))
        #expect(try decoder.next(from: &buffer) == .needMore)
        #expect(!decoder.isComplete)
        buffer.write(bytes("llo!"))
        #expect(try decoder.next(from: &buffer) == .data(bytes("llo")))
        #expect(try decoder.next(from: &buffer) == .end)
        #expect(Array(buffer.readableView) == bytes("!"))
    }

    @Test func contentLengthZeroIsComplete() throws {
        var decoder = HTTPBodyDecoder(framing: .contentLength(0))
        var buffer = ByteBuffer(bytes("x"))
        #expect(try decoder.next(from: &buffer) == .end)
        #expect(buffer.readableBytes == 1)
    }

    @Test func truncatedContentLengthThrowsAtEndOfInput() throws {
        var decoder = HTTPBodyDecoder(framing: .contentLength(5))
        var buffer = ByteBuffer(bytes("hel"))
        _ = try decoder.next(from: &buffer)
        #expect(throws: HTTPParseError.truncatedBody) { try decoder.inputEnded() }
        #expect(HTTPParseError.truncatedBody.code == "truncated_body")
    }

    @Test func untilCloseEndsWithTheInput() throws {
        var decoder = HTTPBodyDecoder(framing: .untilClose)
        var buffer = ByteBuffer(bytes("abc"))
        #expect(try decoder.next(from: &buffer) == .data(bytes("abc")))
        #expect(try decoder.next(from: &buffer) == .needMore)
        #expect(!decoder.isComplete)
        try decoder.inputEnded()
        #expect(decoder.isComplete)
        #expect(try decoder.next(from: &buffer) == .end)
        #expect(decoder.bytesDecoded == 3)
    }

    static let chunkedBody = "5\r\nhello\r\n6;name=value;flag\r\n world\r\n0\r\nX-Trailer: t\r\nY: \r\n\r\n"

    @Test func chunkedRemovesFramingAndTrailersAndStopsAtTheEnd() throws {
        var decoder = HTTPBodyDecoder(framing: .chunked)
        var buffer = ByteBuffer(bytes(Self.chunkedBody + "GET /next"))
        let (data, last) = try drain(&decoder, &buffer)
        #expect(data == bytes("hello world"))
        #expect(last == .end)
        #expect(decoder.isComplete)
        #expect(decoder.bytesDecoded == 11)
        #expect(Array(buffer.readableView) == bytes("GET /next"))
    }

    @Test func chunkedGivesTheSameResultWhenFedByteByByte() throws {
        let input = bytes(Self.chunkedBody + "NEXT")
        var decoder = HTTPBodyDecoder(framing: .chunked)
        var buffer = ByteBuffer()
        var data: [UInt8] = []
        var fed = 0
        while !decoder.isComplete {
            buffer.write(input[fed..<fed + 1])
            fed += 1
            let (more, _) = try drain(&decoder, &buffer)
            data += more
        }
        #expect(data == bytes("hello world"))
        #expect(fed == input.count - 4)
        #expect(buffer.readableBytes == 0)
    }

    @Test func chunkedGivesTheSameResultAtEverySplit() throws {
        let input = bytes(Self.chunkedBody)
        for split in 0...input.count {
            var decoder = HTTPBodyDecoder(framing: .chunked)
            var buffer = ByteBuffer(input[..<split])
            var (data, _) = try drain(&decoder, &buffer)
            buffer.write(input[split...])
            let (rest, last) = try drain(&decoder, &buffer)
            data += rest
            #expect(data == bytes("hello world"), "split at \(split)")
            #expect(last == .end, "split at \(split)")
        }
    }

    @Test func chunkDataIsDeliveredBeforeTheChunkIsComplete() throws {
        var decoder = HTTPBodyDecoder(framing: .chunked)
        var buffer = ByteBuffer(bytes("a\r\n0123"))
        #expect(try decoder.next(from: &buffer) == .data(bytes("0123")))
        #expect(try decoder.next(from: &buffer) == .needMore)
        #expect(throws: HTTPParseError.truncatedBody) { try decoder.inputEnded() }
    }

    @Test(arguments: ["ffffffffffffffff", "FFFFFFFFFFFFFFFF", "0000000000000001"])
    func acceptsSixteenHexDigits(size: String) throws {
        var decoder = HTTPBodyDecoder(framing: .chunked)
        var buffer = ByteBuffer(bytes(size + "\r\nx"))
        #expect(try decoder.next(from: &buffer) == .data(bytes("x")))
    }

    @Test func acceptsExtensionsUpToTheLimit() throws {
        var limits = HTTPParserLimits()
        limits.maxChunkExtensionBytes = 8
        var decoder = HTTPBodyDecoder(framing: .chunked, limits: limits)
        var buffer = ByteBuffer(bytes("1;abc\r\nx\r\n0;def\r\n\r\n"))
        let (data, last) = try drain(&decoder, &buffer)
        #expect(data == bytes("x"))
        #expect(last == .end)
    }

    static let rejections: [Rejection] = [
        Rejection("empty size", "\r\nhello\r\n0\r\n\r\n", 400, "invalid_chunk_size"),
        Rejection("plus sign", "+5\r\nhello\r\n0\r\n\r\n", 400, "invalid_chunk_size"),
        Rejection("minus sign", "-5\r\nhello\r\n0\r\n\r\n", 400, "invalid_chunk_size"),
        Rejection("leading space", " 5\r\nhello\r\n0\r\n\r\n", 400, "invalid_chunk_size"),
        Rejection("trailing space", "5 \r\nhello\r\n0\r\n\r\n", 400, "invalid_chunk_size"),
        Rejection("space before extension", "5 ;a\r\nhello\r\n0\r\n\r\n", 400, "invalid_chunk_size"),
        Rejection("0x prefix", "0x5\r\nhello\r\n0\r\n\r\n", 400, "invalid_chunk_size"),
        Rejection("not hex", "g\r\n", 400, "invalid_chunk_size"),
        Rejection("17 digits", "00000000000000005\r\nhello\r\n0\r\n\r\n", 400, "invalid_chunk_size"),
        Rejection("overflow", "10000000000000000\r\n", 400, "invalid_chunk_size"),
        Rejection("empty size with extension", ";a\r\n", 400, "invalid_chunk_size"),
        Rejection("bare LF after size", "5\nhello\r\n0\r\n\r\n", 400, "bare_lf"),
        Rejection("bare CR after size", "5\rhello\r\n0\r\n\r\n", 400, "bare_cr"),
        Rejection("data too long", "5\r\nhelloX\r\n0\r\n\r\n", 400, "invalid_chunk_framing"),
        Rejection("LF after data", "5\r\nhello\n0\r\n\r\n", 400, "invalid_chunk_framing"),
        Rejection("junk then LF after data", "5\r\nhelloX\n0\r\n\r\n", 400, "invalid_chunk_framing"),
        Rejection("CR CR after data", "5\r\nhello\r\r0\r\n\r\n", 400, "invalid_chunk_framing"),
        Rejection("bare LF in extension", "5;a\nhello\r\n0\r\n\r\n", 400, "bare_lf"),
        Rejection("NUL in extension", "5;a\u{0}\r\nhello\r\n0\r\n\r\n", 400, "invalid_chunk_extension"),
        Rejection("bare LF ends last chunk", "0\n\r\n", 400, "bare_lf"),
        Rejection("bare LF ends trailers", "0\r\n\n", 400, "bare_lf"),
        Rejection("bare LF after trailer", "0\r\nX: a\nY: b\r\n\r\n", 400, "bare_lf"),
        Rejection("bare CR in trailers", "0\r\nX: a\rY\r\n\r\n", 400, "bare_cr"),
        Rejection("folded trailer", "0\r\nX: a\r\n b\r\n\r\n", 400, "invalid_trailer"),
        Rejection("trailer without colon", "0\r\nX a\r\n\r\n", 400, "invalid_trailer"),
        Rejection("trailer with empty name", "0\r\n: a\r\n\r\n", 400, "invalid_trailer"),
        Rejection("control in trailer value", "0\r\nX: \u{1}\r\n\r\n", 400, "invalid_trailer"),
    ]

    @Test(arguments: rejections)
    func refuses(_ rejection: Rejection) {
        var decoder = HTTPBodyDecoder(framing: .chunked)
        var buffer = ByteBuffer(rejection.input)
        do {
            _ = try drain(&decoder, &buffer)
            Issue.record("\(rejection.label) was not refused")
        } catch {
            #expect(error.status == rejection.status)
            #expect(error.code == rejection.code)
        }
    }

    @Test func refusesExtensionsOverTheLimitSummedOverChunks() throws {
        var limits = HTTPParserLimits()
        limits.maxChunkExtensionBytes = 8
        var decoder = HTTPBodyDecoder(framing: .chunked, limits: limits)
        var buffer = ByteBuffer(bytes("1;abcd\r\nx\r\n1;efg\r\ny\r\n0\r\n\r\n"))
        #expect(try decoder.next(from: &buffer) == .data(bytes("x")))
        #expect(throws: HTTPParseError.chunkExtensionsTooLarge) { try decoder.next(from: &buffer) }
    }

    @Test func refusesTrailersOverTheLimitWith431() throws {
        var limits = HTTPParserLimits()
        limits.maxTrailerBytes = 11  // "X: 1234" CRLF CRLF
        var accepted = HTTPBodyDecoder(framing: .chunked, limits: limits)
        var small = ByteBuffer(bytes("0\r\nX: 1234\r\n\r\n"))
        #expect(try accepted.next(from: &small) == .end)
        var refused = HTTPBodyDecoder(framing: .chunked, limits: limits)
        var large = ByteBuffer(bytes("0\r\nX: 12345\r\n\r\n"))
        #expect(throws: HTTPParseError.trailersTooLarge) { try refused.next(from: &large) }
        #expect(HTTPParseError.trailersTooLarge.status == 431)
    }

    @Test func roundTripsThroughTheEncoder() throws {
        let payload = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var wire: [UInt8] = []
        for start in stride(from: 0, to: payload.count, by: 777) {
            HTTPChunkedEncoder.encodeChunk(payload[start..<min(start + 777, payload.count)], into: &wire)
        }
        wire += HTTPChunkedEncoder.lastChunk
        var decoder = HTTPBodyDecoder(framing: .chunked)
        var buffer = ByteBuffer(wire)
        let (data, last) = try drain(&decoder, &buffer)
        #expect(data == payload)
        #expect(last == .end)
        #expect(buffer.readableBytes == 0)
    }
}
