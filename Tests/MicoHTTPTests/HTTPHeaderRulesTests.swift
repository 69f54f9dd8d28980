import MicoHTTP
import Testing

struct HTTPHeaderRulesTests {
    @Test func connectionTokensAreTrimmedAndReadAcrossFieldsInAnyCase() {
        let headers = HTTPHeaders([
            ("Connection", " Keep-Alive ,, X-Foo"), ("Host", "a"), ("connection", "CLOSE"), ("X-Foo", "1"),
        ])
        #expect(endToEnd(headers) == HTTPHeaders([("Host", "a")]))
        let hopByHop = HTTPHeaderRules.HopByHopFields(of: headers)
        #expect(!hopByHop.isKeepAlive(version: .http1_1))
        #expect(!hopByHop.isKeepAlive(version: .http1_0))
        let keepAlive = HTTPHeaderRules.HopByHopFields(of: HTTPHeaders([("Connection", " KEEP-alive ")]))
        #expect(keepAlive.isKeepAlive(version: .http1_0))
        #expect(HTTPHeaderRules.HopByHopFields(of: HTTPHeaders()).isKeepAlive(version: .http1_1))
        #expect(!HTTPHeaderRules.HopByHopFields(of: HTTPHeaders()).isKeepAlive(version: .http1_0))
    }

    @Test func removesHopByHopFramingAndNamedFields() {
        let headers = HTTPHeaders([
            ("Host", "a"), ("Connection", "Authorization, X-Secret"), ("Authorization", "Bearer client"),
            ("Keep-Alive", "timeout=5"), ("TE", "trailers"), ("Trailer", "X"), ("Upgrade", "websocket"),
            ("Proxy-Connection", "keep-alive"), ("Transfer-Encoding", "chunked"), ("Content-Length", "5"),
            ("x-secret", "1"), ("Accept", "*/*"), ("X-Other", "2"),
        ])
        #expect(endToEnd(headers) == HTTPHeaders([("Host", "a"), ("Accept", "*/*"), ("X-Other", "2")]))
    }

    @Test func keepsEverythingWhenNothingIsHopByHop() {
        let original = HTTPHeaders([("Host", "a"), ("Accept", "*/*"), ("Content-Type", "text/plain")])
        #expect(endToEnd(original) == original)
    }

    @Test func connectionNamesAreMatchedIgnoringCaseAndOnlyWhole() {
        let headers = HTTPHeaders([("connection", "x-A, X-B"), ("X-a", "1"), ("x-b", "2"), ("X-AB", "3"), ("X", "4")])
        #expect(endToEnd(headers) == HTTPHeaders([("X-AB", "3"), ("X", "4")]))
    }

    /// The fields of `headers` that are not hop-by-hop, as a proxy forwards them: written with `HTTPHeadWriter`,
    /// and read back.
    private func endToEnd(_ headers: HTTPHeaders) -> HTTPHeaders? {
        let hopByHop = HTTPHeaderRules.HopByHopFields(of: headers)
        var writer = HTTPHeadWriter(version: .http1_1, status: 200, reason: "OK", capacity: 0)
        writer.copyFields(of: headers) { !hopByHop.contains($0) }
        var decoder = HTTPResponseHeadDecoder()
        return try? decoder.decode(writer.finish()[...], requestMethod: "GET")?.head.headers
    }
}
