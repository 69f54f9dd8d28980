import MicoHTTP
import Testing

struct HTTPHeadersTests {
    static let sample = HTTPHeaders([("Host", "a"), ("Accept", "x"), ("accept", "y"), ("X-Id", "1")])

    @Test func looksUpIgnoringCase() {
        #expect(Self.sample["ACCEPT"] == ["x", "y"])
        #expect(Self.sample.first("accept") == "x")
        #expect(Self.sample.first("missing") == nil)
        #expect(Self.sample.contains("x-id"))
        #expect(!Self.sample.contains("x-i"))
        #expect(Self.sample["missing"] == [])
        #expect(Self.sample.count == 4)
    }

    @Test func handsTheFirstValueOverAsBytes() {
        #expect(Self.sample.withFirstValue(named: "ACCEPT") { $0.map(Array.init) } == bytes("x"))
        #expect(Self.sample.withFirstValue(named: "missing") { $0 == nil })
    }

    @Test func iteratesInOrder() {
        #expect(Self.sample.map(\.name) == ["Host", "Accept", "accept", "X-Id"])
        #expect(Self.sample.map(\.value) == ["a", "x", "y", "1"])
    }

    @Test func addAppends() {
        var headers = HTTPHeaders()
        headers.add(name: "A", value: "1")
        headers.add(name: "a", value: "2")
        #expect(headers["A"] == ["1", "2"])
    }

    @Test func equalityIgnoresNameCaseButNotValueCaseOrOrder() {
        #expect(HTTPHeaders([("Host", "a")]) == HTTPHeaders([("host", "a")]))
        #expect(HTTPHeaders([("Host", "a")]) != HTTPHeaders([("Host", "A")]))
        #expect(HTTPHeaders([("A", "1"), ("B", "2")]) != HTTPHeaders([("B", "2"), ("A", "1")]))
        #expect(HTTPHeaders([("A", "1")]) != HTTPHeaders([("A", "1"), ("A", "1")]))
    }

    @Test(arguments: [
        ("Content-Type", true), ("x_!#$%&'*+.^`|~9", true), ("", false), ("A B", false),
        ("A:", false), ("A\r\nB", false), ("caf\u{E9}", false),
    ])
    func validatesNames(name: String, valid: Bool) {
        #expect(HTTPHeaders.isValidName(name) == valid)
    }

    @Test(arguments: [
        ("", true), ("a b\tc", true), ("caf\u{E9}\u{FF}", true), ("a\r\nB: c", false),
        ("a\u{0}", false), ("a\u{7F}", false), ("\u{100}", false), ("\u{1F600}", false),
    ])
    func validatesValues(value: String, valid: Bool) {
        #expect(HTTPHeaders.isValidValue(value) == valid)
    }

    @Test func serialisingCannotInjectALineOrAField() {
        var headers = HTTPHeaders()
        headers.add(name: "X-Token", value: "abc\r\nAuthorization: Bearer evil")
        headers.add(name: "Bad\r\nName", value: "\u{1F600}\u{100}\u{E9}")
        var out: [UInt8] = []
        HTTPRequestHead(method: "GET", target: "/a b\r\n", headers: headers).serialize(into: &out)
        #expect(
            out
                == bytes("GET /a_b__ HTTP/1.1\r\nX-Token: abc  Authorization: Bearer evil\r\nBad__Name:   ") + [0xE9]
                + bytes("\r\n\r\n"))
    }

    @Test func storesWhatItWritesSoReadingBackShowsTheReplacements() {
        var headers = HTTPHeaders()
        headers.add(name: "X-Token", value: "abc\r\nX: y")
        headers.add(name: "Caf\u{E9}", value: "caf\u{E9} \u{1F600}")
        #expect(headers.first("x-token") == "abc  X: y")
        #expect(headers.map(\.name) == ["X-Token", "Caf_"])
        #expect(headers.first("caf_") == "caf\u{E9}  ")
    }

    @Test func aHeadWriterCopiesTheFieldsThatPassInOrderThenAddsItsOwn() {
        var writer = HTTPHeadWriter(method: "GET", target: "/a", version: .http1_1, capacity: 0)
        writer.add(name: "Via", value: "1.1 p")
        writer.copyFields(of: Self.sample) { name in name.bytes.count != 6 }
        writer.add(name: "Last\r\n", value: "\u{E9}\n")
        #expect(
            writer.finish()
                == bytes("GET /a HTTP/1.1\r\nVia: 1.1 p\r\nHost: a\r\nX-Id: 1\r\nLast__: ") + [0xE9]
                + bytes(" \r\n\r\n"))
    }

    /// The fields of `head`'s request, decoded, as a head writer copies them.
    private static func decodedFields(_ head: String) throws -> (HTTPHeaders, [UInt8]) {
        var decoder = HTTPRequestHeadDecoder()
        let decoded = try #require(try decoder.decode(ArraySlice(bytes(head))))
        var writer = HTTPHeadWriter(method: "GET", target: "/", version: .http1_1, capacity: 0)
        writer.copyFields(of: decoded.head.headers)
        return (decoded.head.headers, writer.finish())
    }

    @Test func decodedLinesInStoredFormAreKeptAsTheyCame() throws {
        // Leading empty lines: the fields do not start at the first byte handed to the decoder.
        let (headers, written) = try Self.decodedFields(
            "\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\nX-Id: 1\r\nAccept: */*\r\n\r\n")
        #expect(headers.map(\.name) == ["Host", "X-Id", "Accept"])
        #expect(headers.map(\.value) == ["a", "1", "*/*"])
        #expect(written == bytes("GET / HTTP/1.1\r\nHost: a\r\nX-Id: 1\r\nAccept: */*\r\n\r\n"))
    }

    @Test func decodedLinesInOtherFormsAreStoredAsNameColonSpaceValue() throws {
        let (headers, written) = try Self.decodedFields(
            "GET /x HTTP/1.1\r\nHost: a\r\nA:1\r\nB:\t 2 \t\r\nC: 3\r\nD:  4\r\nE:\r\nF: \r\n\r\n")
        #expect(headers.map(\.name) == ["Host", "A", "B", "C", "D", "E", "F"])
        #expect(headers.map(\.value) == ["a", "1", "2", "3", "4", "", ""])
        #expect(headers.first("b") == "2")
        #expect(
            written
                == bytes("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: \r\nF: \r\n\r\n"))
        #expect(
            headers
                == HTTPHeaders([("Host", "a"), ("A", "1"), ("B", "2"), ("C", "3"), ("D", "4"), ("E", ""), ("F", "")]))
    }

    @Test func aFieldLineIsMadeOnceWithTheSameReplacementsAndWritten() {
        let line = HTTPFieldLine(name: "Authorization", value: "Bearer abc\r\nX: y")
        #expect(line.wireBytes == bytes("Authorization: Bearer abc  X: y\r\n"))
        #expect(
            HTTPFieldLine(name: "Bad Name", value: "\u{E9}").wireBytes == bytes("Bad_Name: ") + [0xE9] + bytes("\r\n"))
        // Its description never shows the value, which may be a credential.
        #expect("\(line)" == "Authorization: …")
        var writer = HTTPHeadWriter(version: .http1_1, status: 200, reason: "OK", capacity: 0)
        writer.add(line)
        writer.add(contentLength: 0)
        writer.add(contentLength: 1_234_567)
        writer.add(contentLength: .max)
        #expect(
            writer.finish()
                == bytes(
                    "HTTP/1.1 200 OK\r\nAuthorization: Bearer abc  X: y\r\nContent-Length: 0\r\n"
                        + "Content-Length: 1234567\r\nContent-Length: 18446744073709551615\r\n\r\n"))
    }
}
