import Foundation
import MicoHTTP
import MicoTestSupport
import Testing

/// Feeds every request case to our decoders and to Python's h11, an independent HTTP/1.1 parser, and checks that
/// both accept or both refuse it, and that where both accept they agree on where the request ends and on its body.
/// Differences are allowed only for the cases in `knownDifferences`, each justified; any other difference, and
/// any listed case on which the two now agree, fails. h11 must be installed (`pip install h11`; `.ci/run` does it).
struct HTTPDifferentialTests {
    // Each entry: a case h11 (0.16) reads differently from us, and why. Most are h11 taking the leniency RFC 9112
    // allows a recipient where we, in front of a credential, refuse anything two parsers could read two ways
    // (issue 3 item 1). "Incomplete" means h11 accepted the head and waits for a body the case does not have.
    static let knownDifferences: Set<String> = [
        // RFC 9112 §6.3 lets a server process CL+TE as chunked; we refuse (400) as a smuggling vector.
        "head: CL+TE", "head: TE+CL", "CL+TE with a chunked body",
        // h11 folds repeated equal Content-Length values (RFC 9110 §8.6 MAY); we refuse any repetition or list.
        "head: two equal CL", "head: CL list",
        // h11 reports no overflow, only waits for 2^64 bytes; RFC 9110 §8.6 says to refuse unparsable lengths.
        "head: CL overflow",
        // h11 reads TE on HTTP/1.0 as chunked; RFC 9112 §6.1 says such framing is faulty, so we refuse it.
        "head: TE on 1.0", "TE on 1.0 with a chunked body",
        // h11 accepts LF alone as a line end (RFC 9112 §2.2 MAY); we refuse it, proxies disagree about it.
        "head: bare LF after request line", "head: bare LF after field", "head: bare LF as empty line",
        "chunked: bare LF ends trailers", "chunked: bare LF after trailer",
        // h11 unfolds obs-fold (RFC 9112 §5.2 allows a server to either refuse or replace it); we refuse.
        "head: obs-fold SP", "head: obs-fold HTAB",
        // h11 allows control bytes in field values; RFC 9110 §5.5 lets a recipient refuse them, and we do.
        "head: SOH in value", "head: US in value", "head: DEL in value",
        // h11 checks only that Host is present; RFC 9112 §3.2 says to refuse an invalid Host with 400.
        "head: Host list", "head: Host inner space", "head: Host whitespace only", "head: Host userinfo",
        "head: Host path",
        // h11 accepts any HTTP/d.d version; we serve only 1.0 and 1.1 (505 is allowed by RFC 9110 §15.6.6).
        "head: HTTP/2.0", "head: HTTP/1.2", "head: HTTP/0.9", "head: h2 preface",
        // h11 allows whitespace after a chunk size and has no 16-digit cap; we refuse padding and overflow.
        "chunked: trailing space", "chunked: 17 digits", "chunked: overflow",
        // h11 does not check chunk extensions or limit them; RFC 9112 §7.1.1 lets a server bound them (4 KiB).
        "chunked: NUL in extension", "extensions over 4 KiB in one chunk", "extensions over 4 KiB summed over chunks",
        // h11 ignores trailer syntax errors after the last chunk; we check trailers like header fields.
        "chunked: folded trailer", "chunked: control in trailer value",
        // h11 does not skip empty lines before the request line; RFC 9112 §2.2 says a server SHOULD.
        "leading empty lines",
        // h11 enforces URI characters in the target; we pass bytes >= 0x80 upstream unchanged (README).
        "high bytes in target and value",
    ]

    static let chunkedHead = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"

    /// Cases beyond the decoder tests' rejection tables: whole requests, the accepted forms of issue 3 item 1,
    /// and framing faults that need a body.
    static let extraCases: [DifferentialCase] = [
        DifferentialCase("GET", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", .accept),
        DifferentialCase("leading empty lines", "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", .accept),
        DifferentialCase("HTTP/1.0 without Host", "GET / HTTP/1.0\r\n\r\n", .accept),
        DifferentialCase(
            "trailing whitespace in values", "GET / HTTP/1.1\r\nHost: a \t\r\nX-Spaces:  a  b \t\r\nX-Empty:\r\n\r\n",
            .accept),
        DifferentialCase(
            "Content-Length body", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", .accept),
        DifferentialCase(
            "Content-Length with leading zeros", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 005\r\n\r\nhello",
            .accept),
        DifferentialCase(
            "TE:\\tchunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            .accept),
        DifferentialCase(
            "TE uppercase", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n\r\n0\r\n\r\n", .accept),
        DifferentialCase("chunked body", chunkedHead + HTTPBodyDecoderTests.chunkedBody, .accept),
        DifferentialCase(
            "chunk extensions", chunkedHead + "5;name=value;flag\r\nhello\r\n6;q=\"a b\"\r\n world\r\n0;last\r\n\r\n",
            .accept),
        DifferentialCase("trailers", chunkedHead + "1\r\nx\r\n0\r\nX-Trailer: t\r\nHost: evil\r\nY: \r\n\r\n", .accept),
        DifferentialCase("16-digit chunk size", chunkedHead + "0000000000000001\r\nx\r\n0\r\n\r\n", .accept),
        DifferentialCase(
            "4 KiB of extensions",
            chunkedHead + String(repeating: "1;" + String(repeating: "e", count: 63) + "\r\nx\r\n", count: 64)
                + "0\r\n\r\n", .accept),
        DifferentialCase(
            "pipelined after Content-Length",
            "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhiGET /b HTTP/1.1\r\nHost: a\r\n\r\n", .accept),
        DifferentialCase(
            "pipelined after chunked", chunkedHead + "1\r\nx\r\n0\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n", .accept),
        DifferentialCase(
            "high bytes in target and value",
            bytes("GET /caf") + [0xE9] + bytes(" HTTP/1.1\r\nHost: a\r\nX: Jos") + [0xE9, 0xFF] + bytes("\r\n\r\n"),
            .accept),
        DifferentialCase(
            "CL+TE with a chunked body",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nX",
            .reject),
        DifferentialCase(
            "TE on 1.0 with a chunked body", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", .reject),
        DifferentialCase(
            "extensions over 4 KiB in one chunk",
            chunkedHead + "1;" + String(repeating: "e", count: 4096) + "\r\nx\r\n0\r\n\r\n", .reject),
        DifferentialCase(
            "extensions over 4 KiB summed over chunks",
            chunkedHead + String(repeating: "1;" + String(repeating: "e", count: 63) + "\r\nx\r\n", count: 65)
                + "0\r\n\r\n", .reject),
        DifferentialCase("chunk data without CRLF at the end", chunkedHead + "5\r\nhello0\r\n\r\n", .reject),
        DifferentialCase(
            "truncated Content-Length body", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhel",
            .incomplete),
    ]

    /// Every case: the head rejections and chunked-body rejections of the decoder tests, then `extraCases`.
    static let cases: [DifferentialCase] =
        HTTPRequestHeadDecoderTests.rejections.map { DifferentialCase("head: " + $0.label, $0.input, .reject) }
        + HTTPBodyDecoderTests.rejections.map {
            DifferentialCase("chunked: " + $0.label, bytes(chunkedHead) + $0.input, .reject)
        }
        + extraCases

    /// h11's verdict on every case, from one Python process shared by all tests.
    static let h11Verdicts = Task { try await H11.verdicts(cases.map(\.input)) }

    @Test(arguments: cases)
    func agreesWithH11UnlessKnown(_ testCase: DifferentialCase) async throws {
        let ours = Verdict.ours(testCase.input)
        #expect(ours.kind == testCase.expected, "our decoders: \(ours)")
        let verdicts = try await Self.h11Verdicts.value
        let theirs = try #require(verdicts[testCase.input], "no h11 verdict")
        if Self.knownDifferences.contains(testCase.label) {
            #expect(!ours.agrees(with: theirs), "now agrees with h11 (\(theirs)); remove it from knownDifferences")
        } else {
            #expect(ours.agrees(with: theirs), "ours: \(ours); h11: \(theirs)")
        }
    }

    @Test func everyKnownDifferenceNamesACase() {
        let labels = Self.cases.map(\.label)
        #expect(Set(labels).count == labels.count, "labels are not unique")
        #expect(Self.knownDifferences.subtracting(labels).isEmpty)
    }
}

/// One request, as a client sent it on a fresh connection, and what our decoders must make of it.
struct DifferentialCase: Sendable, CustomStringConvertible {
    let label: String
    let input: [UInt8]
    let expected: Verdict.Kind

    init(_ label: String, _ input: String, _ expected: Verdict.Kind) {
        self.init(label, bytes(input), expected)
    }

    init(_ label: String, _ input: [UInt8], _ expected: Verdict.Kind) {
        self.label = label
        self.input = input
        self.expected = expected
    }

    var description: String { label }
}

/// How a parser read the first request of some bytes.
enum Verdict: Sendable, Equatable, CustomStringConvertible {
    /// The head and the body were read from the first `consumed` bytes.
    case accept(consumed: Int, body: [UInt8])
    /// The bytes were refused.
    case reject(String)
    /// The request is not complete.
    case incomplete

    enum Kind: Sendable { case accept, reject, incomplete }

    var kind: Kind {
        switch self {
        case .accept: .accept
        case .reject: .reject
        case .incomplete: .incomplete
        }
    }

    /// Same kind, and when both accept, the same end of message and body: a disagreement on where a request ends
    /// is exactly what request smuggling uses.
    func agrees(with other: Verdict) -> Bool {
        if case .reject = self, case .reject = other { return true }
        return self == other
    }

    var description: String {
        switch self {
        case .accept(let consumed, let body): "accept (\(consumed) bytes, \(body.count)-byte body)"
        case .reject(let reason): "reject (\(reason))"
        case .incomplete: "incomplete"
        }
    }

    /// Our decoders' verdict: the head decoder, then the body decoder over the bytes after the head.
    static func ours(_ input: [UInt8]) -> Verdict {
        var decoder = HTTPRequestHeadDecoder()
        do {
            guard let (_, framing, consumed) = try decoder.decode(input[...]) else { return .incomplete }
            var bodyDecoder = HTTPBodyDecoder(framing: framing)
            var buffer = ByteBuffer(input[consumed...])
            var body: [UInt8] = []
            while true {
                switch try bodyDecoder.next(from: &buffer) {
                case .data(let data): body += data
                case .end: return .accept(consumed: input.count - buffer.readableBytes, body: body)
                case .needMore: return .incomplete
                }
            }
        } catch {
            return .reject(error.code)
        }
    }
}

/// Runs Tests/Fuzz/h11_verdict.py over many inputs in one `python3` process, without blocking a thread.
enum H11 {
    struct Unavailable: Error, CustomStringConvertible {
        let description: String
    }

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fuzz/h11_verdict.py").standardizedFileURL

    /// h11's verdict for each input.
    static func verdicts(_ inputs: [[UInt8]]) async throws -> [[UInt8]: Verdict] {
        let directory = try TemporaryDirectory.make("h11")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let casesPath = directory + "/cases"
        let hex = inputs.map { input in input.map { String($0, radix: 16).leftPadded(to: 2) }.joined() }
        try Data((hex.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: casesPath))
        let result = try await ExternalProcess.run("/usr/bin/env", ["python3", script.path, casesPath])
        let status = result.status
        let stderr = result.stderr
        switch status {
        case 0: break
        case 3:
            throw Unavailable(description: "Python's h11 is missing: install it with `pip install h11` (.ci/run does)")
        case 127:
            throw Unavailable(description: "python3 is not on PATH: install Python 3 and `pip install h11`")
        default:
            throw Unavailable(description: "h11_verdict.py exited with \(status): \(stderr)")
        }
        let lines = result.stdoutText.split(separator: "\n")
        guard lines.count == inputs.count else {
            throw Unavailable(description: "h11_verdict.py gave \(lines.count) verdicts for \(inputs.count) cases")
        }
        var verdicts: [[UInt8]: Verdict] = [:]
        for (input, line) in zip(inputs, lines) {
            verdicts[input] = try parse(line)
        }
        return verdicts
    }

    private static func parse(_ line: Substring) throws -> Verdict {
        let words = line.split(separator: " ", maxSplits: 2)
        switch words.first {
        case "accept" where words.count == 3:
            guard let consumed = Int(words[1]) else { break }
            let hex: [UInt8] = words[2] == "-" ? [] : Array(words[2].utf8)
            guard hex.count % 2 == 0 else { break }
            let body = stride(from: 0, to: hex.count, by: 2).compactMap { i in
                UInt8(String(decoding: hex[i..<i + 2], as: UTF8.self), radix: 16)
            }
            guard body.count * 2 == hex.count else { break }
            return .accept(consumed: consumed, body: body)
        case "reject": return .reject(words.dropFirst().joined(separator: " "))
        case "incomplete": return .incomplete
        default: break
        }
        throw Unavailable(description: "h11_verdict.py printed an unreadable line: \(line)")
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
