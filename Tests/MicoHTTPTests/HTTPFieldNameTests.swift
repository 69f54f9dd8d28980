import Testing

@testable import MicoHTTP

@Suite("HTTPFieldName: the names the header rules look at, recognised once")
struct HTTPFieldNameTests {
    @Test(
        "each name in any case, and only the whole name (Access-Control- as a prefix)",
        arguments: [
            ("Host", HTTPFieldName.Known.host), ("HOST", .host), ("Hosts", .other), ("Hos", .other),
            ("Content-Length", .contentLength), ("content-LENGTH", .contentLength), ("Content_Length", .other),
            ("Transfer-Encoding", .transferEncoding), ("Connection", .connection), ("Keep-Alive", .keepAlive),
            ("TE", .te), ("Trailer", .trailer), ("Upgrade", .upgrade), ("Proxy-Connection", .proxyConnection),
            ("Authorization", .authorization), ("proxy-authorization", .proxyAuthorization), ("Expect", .expect),
            ("Access-Control-Allow-Origin", .accessControl), ("ACCESS-CONTROL-MAX-AGE", .accessControl),
            ("access-control-", .accessControl), ("aCcEsS-cOnTrOl-Expose-Headers", .accessControl),
            ("Access-Control", .other), ("X-Access-Control-Allow-Origin", .other),
            ("Access_Control-Allow-Origin", .other), ("Content-Type", .other), ("X-Host", .other), ("", .other),
        ])
    func recognises(name: String, known: HTTPFieldName.Known) {
        var name = name
        #expect(name.withUTF8 { HTTPFieldName.Known($0) } == known)
    }

    @Test("fields decoded or added carry what their name is")
    func storedFieldsCarryTheirName() throws {
        var decoder = HTTPRequestHeadDecoder()
        let decoded = try #require(
            try decoder.decode(
                ArraySlice(Array("GET / HTTP/1.1\r\nhost: a\r\nX-Y: 1\r\nEXPECT: 100-continue\r\n\r\n".utf8))))
        var headers = decoded.head.headers
        headers.add(name: "Content-Length", value: "0")
        var names: [HTTPFieldName.Known] = []
        headers.forEachField { name, _ in names.append(name.known) }
        #expect(names == [.host, .other, .expect, .contentLength])
        #expect(decoded.head.expectsContinue)
    }
}
