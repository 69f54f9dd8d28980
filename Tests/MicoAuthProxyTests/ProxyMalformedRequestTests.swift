import Foundation
import MicoAuthProxy
import MicoIO
import MicoTestSupport
import Testing

/// One raw request the proxy must refuse, with the exact answer it must give.
struct MalformedRequestRow: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]
    /// The exact status of the proxy's answer.
    let status: Int
    /// The `error` member of the JSON body.
    let code: String
    /// Whether the proxy must close the connection after answering (framing errors, unread bodies, HTTP/1.0,
    /// 405 and 400 target refusals); policy 403s on a well-framed keep-alive request without a body keep it open.
    let closes: Bool

    var testDescription: String { name }

    init(_ name: String, _ text: String, _ status: Int, _ code: String, closes: Bool = true) {
        self.init(name, Array(text.utf8), status, code, closes: closes)
    }

    init(_ name: String, _ bytes: [UInt8], _ status: Int, _ code: String, closes: Bool = true) {
        self.name = name
        self.bytes = bytes
        self.status = status
        self.code = code
        self.closes = closes
    }
}

/// One borderline request the proxy must accept and forward, with what the mock must have recorded.
struct AcceptedRequestRow: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]
    let target: String
    let bodyLength: UInt64
    /// Fields the mock must have seen, name and exact value.
    var fields: [(String, String)] = []
    /// Fields the mock must not have seen at all.
    var absent: [String] = []

    var testDescription: String { name }
}

private let host = "Host: 127.0.0.1\r\n"
private let post = "POST /v1/echo HTTP/1.1\r\n" + host
private let chunkedPost = post + "Transfer-Encoding: chunked\r\n\r\n"
private let smuggled = "GET /v1/smuggled HTTP/1.1\r\n" + host + "\r\n"

/// The suite's `max_request_body_bytes`, small so a 413 is cheap.
private let bodyLimit: UInt64 = 1024

private func get(_ target: String, _ fields: String = "") -> String {
    "GET \(target) HTTP/1.1\r\n" + host + fields + "\r\n"
}

private func field(_ line: String) -> String { get("/v1/echo", line + "\r\n") }

private func chunked(_ body: String) -> String { chunkedPost + body }

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

private let rejections: [MalformedRequestRow] = [
    // Framing and smuggling (RFC 9112 §6.1, §6.3).
    MalformedRequestRow(
        "CL+TE with a smuggled request",
        post + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled,
        400, "content_length_with_transfer_encoding"),
    MalformedRequestRow(
        "TE+CL with a smuggled request",
        post + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" + smuggled,
        400, "content_length_with_transfer_encoding"),
    MalformedRequestRow(
        "two equal Content-Length", post + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400,
        "repeated_content_length"),
    MalformedRequestRow(
        "two differing Content-Length", post + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400,
        "repeated_content_length"),
    MalformedRequestRow(
        "Content-Length list 5, 5", post + "Content-Length: 5, 5\r\n\r\nhello", 400, "repeated_content_length"),
    MalformedRequestRow("Content-Length empty", post + "Content-Length: \r\n\r\n", 400, "invalid_content_length"),
    MalformedRequestRow(
        "Content-Length plus", post + "Content-Length: +5\r\n\r\nhello", 400, "invalid_content_length"),
    MalformedRequestRow(
        "Content-Length minus", post + "Content-Length: -5\r\n\r\nhello", 400, "invalid_content_length"),
    MalformedRequestRow(
        "Content-Length hex", post + "Content-Length: 0x5\r\n\r\nhello", 400, "invalid_content_length"),
    MalformedRequestRow(
        "Content-Length with suffix", post + "Content-Length: 5a\r\n\r\nhello", 400, "invalid_content_length"),
    MalformedRequestRow(
        "Content-Length inner space", post + "Content-Length: 5 5\r\n\r\nhello", 400, "invalid_content_length"),
    MalformedRequestRow(
        "Content-Length overflows 64 bits", post + "Content-Length: 18446744073709551616\r\n\r\n", 400,
        "invalid_content_length"),
    MalformedRequestRow(
        "TE xchunked", post + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 501, "unsupported_transfer_coding"),
    MalformedRequestRow(
        "TE chunked, gzip", post + "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 501,
        "unsupported_transfer_coding"),
    MalformedRequestRow(
        "TE gzip, chunked", post + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501,
        "unsupported_transfer_coding"),
    MalformedRequestRow(
        "TE identity", post + "Transfer-Encoding: identity\r\n\r\n", 501, "unsupported_transfer_coding"),
    MalformedRequestRow("TE empty", post + "Transfer-Encoding: \r\n\r\n", 400, "invalid_transfer_encoding"),
    MalformedRequestRow(
        "TE quoted", post + "Transfer-Encoding: \"chunked\"\r\n\r\n0\r\n\r\n", 400, "invalid_transfer_encoding"),
    MalformedRequestRow(
        "TE chunked, chunked", post + "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400,
        "invalid_transfer_encoding"),
    MalformedRequestRow(
        "TE trailing comma", post + "Transfer-Encoding: chunked,\r\n\r\n0\r\n\r\n", 400,
        "invalid_transfer_encoding"),
    MalformedRequestRow(
        "TE with a parameter", post + "Transfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n", 400,
        "invalid_transfer_encoding"),
    MalformedRequestRow(
        "two TE fields", post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
        "invalid_transfer_encoding"),
    MalformedRequestRow(
        "TE on HTTP/1.0", "POST /v1/echo HTTP/1.0\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
        "transfer_encoding_http10"),

    // Line structure and whitespace (RFC 9112 §2.2, §5.1, §5.2).
    MalformedRequestRow("space before colon", field("X-A : b"), 400, "whitespace_before_colon"),
    MalformedRequestRow(
        "space before colon in Host",
        get("/v1/echo").replacingOccurrences(
            of: "Host:", with: "Host :"), 400, "whitespace_before_colon"),
    MalformedRequestRow(
        "tab before colon in Content-Length", post + "Content-Length\t: 0\r\n\r\n", 400, "whitespace_before_colon"),
    MalformedRequestRow("obs-fold with SP", field("X-A: a\r\n b"), 400, "obs_fold"),
    MalformedRequestRow("obs-fold with HTAB", field("X-A: a\r\n\tb"), 400, "obs_fold"),
    MalformedRequestRow("bare CR in a value", field("X-A: a\rb"), 400, "bare_cr"),
    MalformedRequestRow("bare CR in the request line", "GET /v1/echo\r HTTP/1.1\r\n" + host + "\r\n", 400, "bare_cr"),
    MalformedRequestRow("bare CR as a line end", get("/v1/echo", "X-A: a\r\r\n"), 400, "bare_cr"),
    MalformedRequestRow("bare LF after the request line", "GET /v1/echo HTTP/1.1\n" + host + "\r\n", 400, "bare_lf"),
    MalformedRequestRow(
        "bare LF after a field", "GET /v1/echo HTTP/1.1\r\nHost: 127.0.0.1\nX-A: b\r\n\r\n", 400, "bare_lf"),
    MalformedRequestRow("bare LF as the empty line", "GET /v1/echo HTTP/1.1\r\n" + host + "\n", 400, "bare_lf"),
    MalformedRequestRow("bare LF before the request", "\n" + get("/v1/echo"), 400, "bare_lf"),
    MalformedRequestRow(
        "nine leading empty lines", String(repeating: "\r\n", count: 9) + get("/v1/echo"), 400,
        "too_many_empty_lines"),
    MalformedRequestRow(
        "double space in the request line", "GET  /v1/echo HTTP/1.1\r\n" + host + "\r\n", 400,
        "invalid_request_line"),
    MalformedRequestRow(
        "tabs as separators", "GET\t/v1/echo\tHTTP/1.1\r\n" + host + "\r\n", 400,
        "invalid_request_line"),
    MalformedRequestRow("no version", "GET /v1/echo\r\n" + host + "\r\n", 400, "invalid_request_line"),

    // Control bytes.
    MalformedRequestRow("NUL in a value", field("X-A: a\u{0}b"), 400, "invalid_field_value"),
    MalformedRequestRow("SOH in a value", field("X-A: \u{1}"), 400, "invalid_field_value"),
    MalformedRequestRow("ESC in a value", field("X-A: a\u{1B}[0m"), 400, "invalid_field_value"),
    MalformedRequestRow("DEL in a value", field("X-A: a\u{7F}"), 400, "invalid_field_value"),
    MalformedRequestRow(
        "NUL in the Host value",
        get("/v1/echo").replacingOccurrences(
            of: "127.0.0.1", with: "127.0.0.1\u{0}"), 400, "invalid_field_value"),
    MalformedRequestRow("NUL in the target", get("/v1/echo\u{0}x"), 400, "invalid_target"),
    MalformedRequestRow("ESC in the target", get("/v1/\u{1B}[0m"), 400, "invalid_target"),
    MalformedRequestRow("DEL in the target", get("/v1/echo\u{7F}"), 400, "invalid_target"),
    MalformedRequestRow("tab in the target", get("/v1/ec\tho"), 400, "invalid_target"),
    MalformedRequestRow("NUL in the method", "GE\u{0}T /v1/echo HTTP/1.1\r\n" + host + "\r\n", 400, "invalid_method"),
    MalformedRequestRow("method not a token", "GE(T /v1/echo HTTP/1.1\r\n" + host + "\r\n", 400, "invalid_method"),

    // Field names (RFC 9110 §5.1 tchar).
    MalformedRequestRow("NUL in a name", field("X\u{0}A: b"), 400, "invalid_field_name"),
    MalformedRequestRow("parenthesis in a name", field("X(A): b"), 400, "invalid_field_name"),
    MalformedRequestRow("slash in a name", field("X/A: b"), 400, "invalid_field_name"),
    MalformedRequestRow("quoted name", field("\"X-A\": b"), 400, "invalid_field_name"),
    MalformedRequestRow("space inside a name", field("X A: b"), 400, "invalid_field_name"),
    MalformedRequestRow(
        "high byte in a name", Array(bytes(get("/v1/echo", "X")).dropLast(2)) + [0xE9] + bytes(": b\r\n\r\n"), 400,
        "invalid_field_name"),
    MalformedRequestRow("empty name", field(": b"), 400, "empty_field_name"),
    MalformedRequestRow("no colon", field("JustAName"), 400, "missing_colon"),

    // Host (RFC 9112 §3.2).
    MalformedRequestRow("no Host on HTTP/1.1", "GET /v1/echo HTTP/1.1\r\nAccept: */*\r\n\r\n", 400, "missing_host"),
    MalformedRequestRow("two Host fields", field("Host: 127.0.0.1"), 400, "repeated_host"),
    MalformedRequestRow("two differing Host fields", field("host: evil.example"), 400, "repeated_host"),
    MalformedRequestRow(
        "Host with a comma", "GET /v1/echo HTTP/1.1\r\nHost: 127.0.0.1,evil.example\r\n\r\n", 400, "invalid_host"),
    MalformedRequestRow(
        "Host with userinfo", "GET /v1/echo HTTP/1.1\r\nHost: evil@127.0.0.1\r\n\r\n", 400, "invalid_host"),
    MalformedRequestRow("Host empty", "GET /v1/echo HTTP/1.1\r\nHost: \r\n\r\n", 400, "invalid_host"),

    // Versions (RFC 9112 §2.3).
    MalformedRequestRow("HTTP/2.0", "GET /v1/echo HTTP/2.0\r\n" + host + "\r\n", 505, "unsupported_version"),
    MalformedRequestRow("HTTP/1.2", "GET /v1/echo HTTP/1.2\r\n" + host + "\r\n", 505, "unsupported_version"),
    MalformedRequestRow("HTTP/0.9", "GET /v1/echo HTTP/0.9\r\n" + host + "\r\n", 505, "unsupported_version"),
    MalformedRequestRow("http/1.1 in lower case", "GET /v1/echo http/1.1\r\n" + host + "\r\n", 400, "invalid_version"),
    MalformedRequestRow("HTTP/1.10", "GET /v1/echo HTTP/1.10\r\n" + host + "\r\n", 400, "invalid_version"),
    MalformedRequestRow(
        "space after the version", "GET /v1/echo HTTP/1.1 \r\n" + host + "\r\n", 400,
        "invalid_version"),
    MalformedRequestRow("HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, "unsupported_version"),

    // Chunked framing (RFC 9112 §7.1).
    MalformedRequestRow("chunk size empty", chunked("\r\nhello\r\n0\r\n\r\n"), 400, "invalid_chunk_size"),
    MalformedRequestRow("chunk size plus", chunked("+5\r\nhello\r\n0\r\n\r\n"), 400, "invalid_chunk_size"),
    MalformedRequestRow("chunk size minus", chunked("-5\r\nhello\r\n0\r\n\r\n"), 400, "invalid_chunk_size"),
    MalformedRequestRow("chunk size leading space", chunked(" 5\r\nhello\r\n0\r\n\r\n"), 400, "invalid_chunk_size"),
    MalformedRequestRow("chunk size trailing space", chunked("5 \r\nhello\r\n0\r\n\r\n"), 400, "invalid_chunk_size"),
    MalformedRequestRow(
        "chunk size space before extension", chunked("5 ;a\r\nhello\r\n0\r\n\r\n"), 400, "invalid_chunk_size"),
    MalformedRequestRow("chunk size 0x", chunked("0x5\r\nhello\r\n0\r\n\r\n"), 400, "invalid_chunk_size"),
    MalformedRequestRow("chunk size not hex", chunked("g\r\nhello\r\n0\r\n\r\n"), 400, "invalid_chunk_size"),
    MalformedRequestRow(
        "chunk size of 17 hex digits", chunked("00000000000000005\r\nhello\r\n0\r\n\r\n"), 400,
        "invalid_chunk_size"),
    MalformedRequestRow(
        "chunk size overflows 64 bits", chunked("10000000000000000\r\nhello\r\n0\r\n\r\n"), 400,
        "invalid_chunk_size"),
    MalformedRequestRow("chunk size only an extension", chunked(";a\r\nhello\r\n0\r\n\r\n"), 400, "invalid_chunk_size"),
    MalformedRequestRow(
        "chunk data longer than its size", chunked("5\r\nhelloX\r\n0\r\n\r\n"), 400, "invalid_chunk_framing"),
    MalformedRequestRow("chunk data then LF", chunked("5\r\nhello\n0\r\n\r\n"), 400, "invalid_chunk_framing"),
    MalformedRequestRow("chunk data then CR CR", chunked("5\r\nhello\r\r0\r\n\r\n"), 400, "invalid_chunk_framing"),
    MalformedRequestRow(
        "chunk data then a smuggled request", chunked("5\r\nhello" + smuggled), 400, "invalid_chunk_framing"),
    MalformedRequestRow("bare LF after a chunk size", chunked("5\nhello\r\n0\r\n\r\n"), 400, "bare_lf"),
    MalformedRequestRow("bare CR after a chunk size", chunked("5\rhello\r\n0\r\n\r\n"), 400, "bare_cr"),
    MalformedRequestRow("bare LF in a chunk extension", chunked("5;a\nhello\r\n0\r\n\r\n"), 400, "bare_lf"),
    MalformedRequestRow("bare LF ends the last chunk", chunked("0\n\r\n"), 400, "bare_lf"),
    MalformedRequestRow("bare LF ends the trailers", chunked("0\r\n\n"), 400, "bare_lf"),
    MalformedRequestRow("bare LF after a trailer", chunked("0\r\nX-T: a\nY: b\r\n\r\n"), 400, "bare_lf"),
    MalformedRequestRow("folded trailer", chunked("0\r\nX-T: a\r\n b\r\n\r\n"), 400, "invalid_trailer"),
    MalformedRequestRow(
        "NUL in a chunk extension", chunked("5;a\u{0}\r\nhello\r\n0\r\n\r\n"), 400,
        "invalid_chunk_extension"),
    MalformedRequestRow(
        "one chunk extension of 4097 bytes", chunked("1;" + String(repeating: "e", count: 4096) + "\r\nx\r\n0\r\n\r\n"),
        400, "chunk_extensions_too_large"),
    MalformedRequestRow(
        "chunk extensions over 4 KiB in all",
        chunked(String(repeating: "1;" + String(repeating: "e", count: 1000) + "\r\nx\r\n", count: 5) + "0\r\n\r\n"),
        400, "chunk_extensions_too_large"),

    // Not an open proxy (RFC 9112 §3.2).
    MalformedRequestRow(
        "absolute-form target", "GET http://evil.example/v1/echo HTTP/1.1\r\nHost: evil.example\r\n\r\n", 400,
        "bad_request_target"),
    MalformedRequestRow(
        "absolute-form aimed at the proxy itself", get("http://127.0.0.1/v1/echo"), 400, "bad_request_target"),
    MalformedRequestRow(
        "authority-form CONNECT", "CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n", 405,
        "method_not_allowed"),
    MalformedRequestRow(
        "CONNECT with an origin-form target", "CONNECT /v1/echo HTTP/1.1\r\n" + host + "\r\n", 405,
        "method_not_allowed"),
    MalformedRequestRow("asterisk-form OPTIONS", "OPTIONS * HTTP/1.1\r\n" + host + "\r\n", 400, "bad_request_target"),
    MalformedRequestRow("target //host/x", get("//evil.example/v1/echo"), 400, "bad_request_target"),
    MalformedRequestRow("target @host/x", get("@evil.example/v1/echo"), 400, "bad_request_target"),
    MalformedRequestRow("target without a slash", get("v1/echo"), 400, "bad_request_target"),
    MalformedRequestRow("TRACE", "TRACE /v1/echo HTTP/1.1\r\n" + host + "\r\n", 405, "method_not_allowed"),

    // The token endpoint is never forwarded, however it is spelt.
    MalformedRequestRow("token path", get("/oauth/token"), 403, "forbidden_path", closes: false),
    MalformedRequestRow("token path in upper case", get("/OAuth/TOKEN"), 403, "forbidden_path", closes: false),
    MalformedRequestRow(
        "token path with a query", get("/oauth/token?grant_type=x"), 403, "forbidden_path",
        closes: false),
    MalformedRequestRow("token path with a dot segment", get("/oauth/./token"), 403, "forbidden_path", closes: false),
    MalformedRequestRow("token path through ..", get("/v1/../oauth/token"), 403, "forbidden_path", closes: false),
    MalformedRequestRow("token path percent-encoded", get("/%6fauth/%74oken"), 403, "forbidden_path", closes: false),
    MalformedRequestRow(
        "token path with an empty segment", get("/oauth//token"), 403, "forbidden_path",
        closes: false),
    MalformedRequestRow(
        "token path with a trailing slash", get("/oauth/token/"), 403, "forbidden_path",
        closes: false),
    MalformedRequestRow(
        "token path with an unread body",
        "POST /oauth/token HTTP/1.1\r\n" + host + "Content-Length: 29\r\n\r\ngrant_type=client_credentials", 403,
        "forbidden_path"),

    // Limits (issue 3 item 4).
    MalformedRequestRow(
        "request line over 8192 bytes", get("/v1/" + String(repeating: "a", count: 8200)), 414,
        "request_line_too_long"),
    MalformedRequestRow(
        "head over 32768 bytes",
        get("/v1/echo", (0..<5).map { "X-Big-\($0): " + String(repeating: "b", count: 7000) + "\r\n" }.joined()),
        431, "head_too_large"),
    MalformedRequestRow(
        "101 fields", get("/v1/echo", (0..<100).map { "X-F\($0): 1\r\n" }.joined()), 431, "too_many_fields"),
    MalformedRequestRow(
        "Content-Length above max_request_body_bytes", post + "Content-Length: \(bodyLimit + 1)\r\n\r\n", 413,
        "request_body_too_large"),
    MalformedRequestRow(
        "Content-Length above the limit with Expect: 100-continue",
        post + "Content-Length: \(bodyLimit * 1000)\r\nExpect: 100-continue\r\n\r\n", 413, "request_body_too_large"),
    MalformedRequestRow(
        "chunked body growing past max_request_body_bytes",
        chunked("400\r\n" + String(repeating: "z", count: 1024) + "\r\n1\r\nz\r\n0\r\n\r\n"), 413,
        "request_body_too_large"),

    // Only local callers, not web pages (issue 3 item 3).
    MalformedRequestRow(
        "Host not allowed", "GET /v1/echo HTTP/1.1\r\nHost: evil.example\r\n\r\n", 403, "forbidden_host",
        closes: false),
    MalformedRequestRow(
        "Host with a suffix", "GET /v1/echo HTTP/1.1\r\nHost: localhost.evil.example\r\n\r\n", 403,
        "forbidden_host", closes: false),
    MalformedRequestRow(
        "Host with a prefix", "GET /v1/echo HTTP/1.1\r\nHost: 127.0.0.1.nip.io\r\n\r\n", 403, "forbidden_host",
        closes: false),
    MalformedRequestRow(
        "Host with another port", "GET /v1/echo HTTP/1.1\r\nHost: localhost:1\r\n\r\n", 403, "forbidden_host",
        closes: false),
    MalformedRequestRow(
        "no Host on HTTP/1.0", "GET /v1/echo HTTP/1.0\r\n\r\n", 403, "forbidden_host"),
    MalformedRequestRow(
        "Host not allowed, Connection: close",
        "GET /v1/echo HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n", 403, "forbidden_host"),
    MalformedRequestRow(
        "Host not allowed, with a body",
        "POST /v1/echo HTTP/1.1\r\nHost: evil.example\r\nContent-Length: 5\r\n\r\n"
            + "hello", 403, "forbidden_host"),
    MalformedRequestRow(
        "Origin from a web page", field("Origin: https://evil.example"), 403, "forbidden_origin", closes: false),
    MalformedRequestRow("Origin null", field("Origin: null"), 403, "forbidden_origin", closes: false),
    MalformedRequestRow(
        "Origin of the proxy itself", field("Origin: http://127.0.0.1"), 403, "forbidden_origin", closes: false),
    MalformedRequestRow(
        "Sec-Fetch-Site cross-site", field("Sec-Fetch-Site: cross-site"), 403, "forbidden_fetch_site", closes: false),
    MalformedRequestRow(
        "Sec-Fetch-Site same-site", field("Sec-Fetch-Site: same-site"), 403, "forbidden_fetch_site", closes: false),
]

private let acceptances: [AcceptedRequestRow] = [
    AcceptedRequestRow(
        name: "leading empty lines", bytes: bytes("\r\n\r\n" + get("/v1/echo?lead", "Connection: close\r\n")),
        target: "/v1/echo?lead", bodyLength: 0),
    AcceptedRequestRow(
        name: "Transfer-Encoding:\\tchunked",
        bytes: bytes(post + "Transfer-Encoding:\tchunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
        target: "/v1/echo", bodyLength: 5),
    AcceptedRequestRow(
        name: "trailing whitespace in values",
        bytes: bytes(get("/v1/echo?ws", "X-Note: padded \t \r\nConnection: close \t\r\n")), target: "/v1/echo?ws",
        bodyLength: 0, fields: [("X-Note", "padded")]),
    AcceptedRequestRow(
        name: "Content-Length with leading zeros",
        bytes: bytes(post + "Content-Length: 007\r\nConnection: close\r\n\r\nsevenbb"), target: "/v1/echo",
        bodyLength: 7),
    AcceptedRequestRow(
        name: "Host in upper case",
        bytes: bytes("GET /v1/echo?uc HTTP/1.1\r\nHost: LOCALHOST\r\nConnection: close\r\n\r\n"),
        target: "/v1/echo?uc", bodyLength: 0),
    AcceptedRequestRow(
        name: "Sec-Fetch-Site none", bytes: bytes(get("/v1/echo?sfs", "Sec-Fetch-Site: none\r\nConnection: close\r\n")),
        target: "/v1/echo?sfs", bodyLength: 0),
    AcceptedRequestRow(
        name: "chunk extensions under the limit",
        bytes: bytes(
            post + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                + "5;name=value\r\nhello\r\n6;flag;q=\"x y\"\r\n world\r\n0;last\r\n\r\n"),
        target: "/v1/echo", bodyLength: 11),
    AcceptedRequestRow(
        name: "chunk extensions of exactly 4096 bytes",
        bytes: bytes(
            post + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                + "1;" + String(repeating: "e", count: 4094) + "\r\nx\r\n0;\r\n\r\n"),
        target: "/v1/echo", bodyLength: 1),
    AcceptedRequestRow(
        name: "trailers are dropped, not merged into headers",
        bytes: bytes(
            post + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                + "5\r\nhello\r\n0\r\nX-Trailer: evil\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n"),
        target: "/v1/echo", bodyLength: 5, absent: ["X-Trailer", "X-Forwarded-For"]),
    AcceptedRequestRow(
        name: "target bytes >= 0x80 passed byte for byte",
        bytes: bytes("GET /v1/echo?name=caf") + [0xE9, 0x80, 0xFF]
            + bytes(
                " HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n"),
        target: "/v1/echo?name=caf\u{E9}\u{80}\u{FF}", bodyLength: 0),
]

/// The proxy in front of the mock, shared by every rejection row (rows run in parallel; none may reach the mock).
private let sharedHarness = Task { () throws -> (harness: ProxyHarness, tokenRequests: Int) in
    let harness = try await ProxyHarness.start(configure: { configuration, _ in
        configuration.maxRequestBodyBytes = bodyLimit
    })
    try await harness.waitUntilReady()
    return (harness, harness.mock.stats.tokenRequests)
}

/// Raw malformed, smuggling-prone and policy-refused requests (issue 3 items 1 to 4): each gets the proxy's own
/// exact answer, the connection closes when it must, and the upstream mock sees nothing.
@Suite("Malformed and refused requests, byte for byte")
struct ProxyMalformedRequestTests {
    @Test("the table has enough rows") func tableSize() {
        #expect(rejections.count >= 70)
        #expect(Set(rejections.map(\.name)).count == rejections.count)
    }

    @Test("refused", arguments: rejections)
    func refused(_ row: MalformedRequestRow) async throws {
        let (harness, tokenRequests) = try await sharedHarness.value
        let client = try await RawClient.connect(port: harness.proxy.listenAddresses[0].port)
        defer { client.close() }
        try await client.send(row.bytes)
        let text: String
        if row.closes {
            let reply = await client.readToEnd()
            text = reply.text
            #expect(reply.closed, "the proxy must close the connection")
            #expect(text.contains("\r\nConnection: close\r\n"))
            #expect(text.components(separatedBy: "\nHTTP/1.").count == 1, "exactly one response")
        } else {
            text = try await client.read(until: "}\n")
            #expect(!text.contains("\r\nConnection: close\r\n"))
            // The connection is still usable: an admin request (never forwarded) on it is answered.
            try await client.send("GET /-/healthy HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n")
            let next = await client.readToEnd()
            #expect(next.closed)
            #expect(next.text.hasPrefix("HTTP/1.1 200 "), "\(next.text.prefix(60))")
        }
        let statusLine = text.split(separator: "\r\n", maxSplits: 1).first.map(String.init) ?? ""
        #expect(statusLine.hasPrefix("HTTP/1.1 \(row.status) "), "got \(statusLine)")
        #expect(text.contains("\r\nProxy-Status: mico-auth-proxy; error="))
        #expect(text.contains("\"error\": \"\(row.code)\""), "\(text.split(separator: "\r\n").last ?? "")")
        #expect(harness.mock.stats.apiRequests == 0)
        #expect(harness.mock.stats.unauthorizedRequests == 0)
        #expect(harness.mock.stats.tokenRequests == tokenRequests)
    }

    @Test("accepted and forwarded", arguments: acceptances)
    func accepted(_ row: AcceptedRequestRow) async throws {
        let harness = try await ProxyHarness.start()
        try await harness.waitUntilReady()
        let client = try await RawClient.connect(port: harness.proxy.listenAddresses[0].port)
        try await client.send(row.bytes)
        let reply = await client.readToEnd()
        client.close()
        #expect(reply.text.hasPrefix("HTTP/1.1 200 "), "\(reply.text.prefix(200))")
        #expect(reply.closed)
        #expect(harness.mock.stats.apiRequests == 1)
        let recorded = try #require(harness.mock.requests.last)
        #expect(recorded.target == row.target)
        #expect(recorded.bodyLength == row.bodyLength)
        for (name, value) in row.fields {
            #expect(recorded.headers[name] == [value], "\(name)")
        }
        for name in row.absent {
            #expect(recorded.headers[name].isEmpty, "\(name) reached the upstream")
        }
        #expect(harness.stopAndFindLeaks().isEmpty)
    }
}
