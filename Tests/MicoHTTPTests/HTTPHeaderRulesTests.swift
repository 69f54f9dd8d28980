import MicoHTTP
import Testing

struct HTTPHeaderRulesTests {
    @Test func connectionTokensAreLowercasedAndTrimmedAcrossFields() {
        let headers = HTTPHeaders([("Connection", " Keep-Alive ,, X-Foo"), ("Host", "a"), ("connection", "CLOSE")])
        #expect(HTTPHeaderRules.connectionTokens(headers) == ["keep-alive", "x-foo", "close"])
        #expect(HTTPHeaderRules.connectionTokens(HTTPHeaders()) == [])
    }

    @Test func removesHopByHopFramingAndNamedFields() {
        var headers = HTTPHeaders([
            ("Host", "a"), ("Connection", "Authorization, X-Secret"), ("Authorization", "Bearer client"),
            ("Keep-Alive", "timeout=5"), ("TE", "trailers"), ("Trailer", "X"), ("Upgrade", "websocket"),
            ("Proxy-Connection", "keep-alive"), ("Transfer-Encoding", "chunked"), ("Content-Length", "5"),
            ("x-secret", "1"), ("Accept", "*/*"), ("X-Other", "2"),
        ])
        HTTPHeaderRules.removeHopByHopAndFraming(&headers)
        #expect(headers == HTTPHeaders([("Host", "a"), ("Accept", "*/*"), ("X-Other", "2")]))
    }

    @Test func keepsEverythingWhenNothingIsHopByHop() {
        let original = HTTPHeaders([("Host", "a"), ("Accept", "*/*"), ("Content-Type", "text/plain")])
        var headers = original
        HTTPHeaderRules.removeHopByHopAndFraming(&headers)
        #expect(headers == original)
    }
}
