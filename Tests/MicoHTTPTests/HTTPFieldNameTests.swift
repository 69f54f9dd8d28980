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

@Suite("ASCII case folding against a byte at a time")
struct ASCIIFoldingTests {
    /// What `hasPrefixIgnoringCase` must answer: each byte lower-cased and compared.
    static func reference(_ bytes: [UInt8], _ lowercased: String) -> Bool {
        let literal = Array(lowercased.utf8)
        guard bytes.count >= literal.count else { return false }
        return zip(bytes, literal).allSatisfy { ASCII.lowercased($0) == $1 }
    }

    @Test("every byte value at every position of names of 8 to 19 bytes; the name upper-cased, a byte longer, shorter")
    func wordsAgreeWithBytes() {
        let names: [StaticString] = [
            "access-control-", "connection", "keep-alive", "authorization", "content-length", "proxy-connection",
            "transfer-encoding", "proxy-authorization", "12345678", "a-b.c_d~e",
        ]
        var checked = 0
        for name in names {
            let text = name.withUTF8Buffer { String(decoding: $0, as: UTF8.self) }
            let base = Array(text.utf8)
            var candidates: [[UInt8]] = [base, Array(text.uppercased().utf8), base + [0x41], Array(base.dropLast())]
            for position in base.indices {
                for value in 0...255 {
                    var candidate = base
                    candidate[position] = UInt8(value)
                    candidates.append(candidate)
                }
            }
            for candidate in candidates {
                let fast = candidate.withUnsafeBufferPointer { ASCII.hasPrefixIgnoringCase($0, name) }
                let exact = candidate.withUnsafeBufferPointer { ASCII.equalsIgnoringCase($0, name) }
                #expect(fast == Self.reference(candidate, text), "\(candidate) against \(text)")
                #expect(exact == (candidate.count == base.count && Self.reference(candidate, text)))
                checked += 1
            }
        }
        #expect(checked > 10 * 256 * 8)
    }
}
