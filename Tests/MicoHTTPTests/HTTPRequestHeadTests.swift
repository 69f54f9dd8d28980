import MicoHTTP
import Testing

struct HTTPRequestHeadTests {
    @Test func serialisesExactly() {
        let head = HTTPRequestHead(
            method: "POST", target: "/v1/tts?x=1", headers: ["Host": "api.micovoice.com", "Content-Length": "2"])
        var out: [UInt8] = []
        head.serialize(into: &out)
        #expect(out == bytes("POST /v1/tts?x=1 HTTP/1.1\r\nHost: api.micovoice.com\r\nContent-Length: 2\r\n\r\n"))
    }

    @Test func serialisesHTTP10() {
        var out: [UInt8] = []
        HTTPRequestHead(method: "GET", target: "/", version: .http1_0).serialize(into: &out)
        #expect(out == bytes("GET / HTTP/1.0\r\n\r\n"))
    }

    @Test(arguments: [
        (HTTPVersion.http1_1, [String](), true),
        (.http1_1, ["close"], false),
        (.http1_1, ["keep-alive, Close"], false),
        (.http1_1, ["Upgrade", "CLOSE"], false),
        (.http1_1, ["keep-alive"], true),
        (.http1_1, ["closed"], true),
        (.http1_0, [], false),
        (.http1_0, ["Keep-Alive"], true),
        (.http1_0, ["te, keep-alive"], true),
        (.http1_0, ["keep-alive", "close"], false),
    ])
    func keepAlive(version: HTTPVersion, connection: [String], expected: Bool) {
        let headers = HTTPHeaders([("Host", "a")] + connection.map { ("Connection", $0) })
        let head = HTTPRequestHead(method: "GET", target: "/", version: version, headers: headers)
        #expect(head.isKeepAlive == expected)
    }

    @Test(arguments: [
        ([String](), false), (["100-continue"], true), (["100-Continue"], true), ([" 100-CONTINUE "], true),
        (["100-continued"], false), (["foo"], false),
    ])
    func expectsContinue(expect: [String], expected: Bool) {
        let head = HTTPRequestHead(
            method: "PUT", target: "/", headers: HTTPHeaders([("Host", "a")] + expect.map { ("Expect", $0) }))
        #expect(head.expectsContinue == expected)
    }

    @Test func decodedHeadRoundTripsExactly() throws {
        let input = bytes("DELETE /v1/voices/7 HTTP/1.1\r\nHost: a\r\nX-Trace: 1 2 3\r\nConnection: close\r\n\r\n")
        let head = try #require(try decodeRequest(input)).head
        var out: [UInt8] = []
        head.serialize(into: &out)
        #expect(out == input)
        #expect(!head.isKeepAlive)
    }

    @Test(arguments: [
        ("/v1/a", "/v1/a", ""), ("/v1/a?x=1", "/v1/a", "x=1"), ("/v1/a?", "/v1/a", ""), ("/?a?b", "/", "a?b"),
        ("/caf\u{E9}?\u{301}", "/caf\u{E9}", "\u{301}"),
    ])
    func splitsTheTargetAtItsFirstQuestionMark(target: String, path: String, query: String) {
        let head = HTTPRequestHead(method: "GET", target: target)
        #expect(head.path == path)
        #expect(head.query == query)
    }
}
