import Foundation
import MicoAuthProxy
import MicoTestSupport
import Testing

/// The log lines of the built binary: format, access lines, journald prefixes, and no credentials anywhere.
@Suite("Logs of the mico-auth-proxy executable")
struct ProxyLoggingTests {
    /// The output's lines, without the final empty one.
    private static func lines(_ child: LongRunning) -> [Substring] {
        child.output.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
    }

    /// Waits until `count` lines hold every one of `parts` (the access line comes just after the response).
    private static func waitForLines(_ child: LongRunning, containing parts: [String], count: Int = 1) async throws
        -> [Substring]
    {
        for _ in 0..<200 {
            let found = lines(child).filter { line in parts.allSatisfy { line.contains($0) } }
            if found.count >= count { return found }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw TestFailure("no \(count) lines with \(parts) in: \(child.output)")
    }

    /// The bearer token the proxy sent upstream with the mock's last request.
    private static func lastToken(_ harness: ProxyHarness) throws -> String {
        let authorization = try #require(harness.mock.requests.last?.headers.first("Authorization"))
        return String(authorization.dropFirst("Bearer ".count))
    }

    private static func expectNoCredentials(_ child: LongRunning, _ harness: ProxyHarness) throws {
        let token = try lastToken(harness)
        #expect(token.count >= 16)
        #expect(!child.output.contains(ProxyHarness.clientSecret))
        #expect(!child.output.contains(token))
    }

    @Test("logfmt by default: an access line per request, the query left out, no secret or token")
    func logfmtAccessLines() async throws {
        let harness = try await ProxyHarness.start()
        defer { _ = harness.stopAndFindLeaks() }
        let (child, port) = try await ProxyProcessTests.startProxyProcess(for: harness)
        defer { child.stop() }
        let query = try await Curl.run(["http://127.0.0.1:\(port)/v1/echo?api_key=caller-own-token"])
        #expect(query.status == 200)
        let post = try await Curl.run(["--data-binary", "abc", "http://127.0.0.1:\(port)/v1/echo"])
        #expect(post.status == 200)

        let get = try await Self.waitForLines(child, containing: [#"msg="request""#, "method=GET", " path=/v1/echo "])
        #expect(get.count == 1)
        for part in ["bytes_in=0 ", "status=200", "replayed=false", "duration_ms=", "upstream_ms="] {
            #expect(get[0].contains(part), "\(part) in \(get[0])")
        }
        let posted = try await Self.waitForLines(child, containing: [#"msg="request""#, "method=POST"])
        #expect(posted[0].contains(" bytes_in=3 "), "\(posted[0])")
        #expect(posted[0].contains(" path=/v1/echo "), "\(posted[0])")
        // Admin endpoints are requests too; they are answered without going upstream.
        let ready = try await Self.waitForLines(child, containing: [#"msg="request""#, "path=/-/ready"])
        #expect(!ready[0].contains("upstream_ms="))

        #expect(!child.output.contains("caller-own-token"))
        #expect(!child.output.contains("api_key"))
        for line in Self.lines(child) {
            #expect(line.hasPrefix("ts=20") && line.contains(" level="), "\(line)")
        }
        try Self.expectNoCredentials(child, harness)
    }

    @Test("log_format json: every line is a JSON object; access_log_query shows the query")
    func jsonLinesWithQuery() async throws {
        let harness = try await ProxyHarness.start()
        defer { _ = harness.stopAndFindLeaks() }
        let (child, port) = try await ProxyProcessTests.startProxyProcess(
            for: harness, extra: #", "log_format": "json", "access_log_query": true"#)
        defer { child.stop() }
        let response = try await Curl.run(["http://127.0.0.1:\(port)/v1/echo?page=2&tag=a%20b"])
        #expect(response.status == 200, "\(response.status) \(response.bodyText)\n\(child.output)")
        _ = try await Self.waitForLines(child, containing: [#""path":"/v1/echo?page=2&tag=a%20b""#])

        var objects: [[String: Any]] = []
        for line in Self.lines(child) {
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
            #expect(object["ts"] is String && object["level"] is String && object["msg"] is String, "\(line)")
            objects.append(object)
        }
        let access = try #require(objects.first { $0["path"] as? String == "/v1/echo?page=2&tag=a%20b" })
        #expect(access["msg"] as? String == "request")
        #expect(access["level"] as? String == "info")
        #expect(access["method"] as? String == "GET")
        #expect((access["status"] as? NSNumber)?.intValue == 200)
        #expect((access["bytes_in"] as? NSNumber)?.intValue == 0)
        #expect(((access["bytes_out"] as? NSNumber)?.intValue ?? 0) > 0)
        #expect(((access["duration_ms"] as? NSNumber)?.doubleValue ?? -1) >= 0)
        #expect(((access["upstream_ms"] as? NSNumber)?.doubleValue ?? -1) >= 0)
        #expect(access["replayed"] as? Bool == false)
        let timestamp = try #require(access["ts"] as? String)
        #expect(timestamp.count == 24 && timestamp.hasSuffix("Z"), "\(timestamp)")
        try Self.expectNoCredentials(child, harness)
    }

    @Test("access_log false writes no access lines; a JOURNAL_STREAM that is not stderr changes nothing")
    func accessLogOffAndForeignJournalStream() async throws {
        let harness = try await ProxyHarness.start()
        defer { _ = harness.stopAndFindLeaks() }
        let (child, port) = try await ProxyProcessTests.startProxyProcess(
            for: harness, extra: #", "access_log": false"#, environment: ["JOURNAL_STREAM": "1:1"])
        defer { child.stop() }
        #expect(try await Curl.run(["http://127.0.0.1:\(port)/v1/echo"]).status == 200)
        // The line would follow the response within milliseconds; give it plenty of time to show up.
        try await Task.sleep(for: .milliseconds(500))
        #expect(!child.output.contains("msg=\"request\""))
        #expect(!child.output.contains("/v1/echo"))
        let lines = Self.lines(child)
        #expect(!lines.isEmpty)
        for line in lines { #expect(line.hasPrefix("ts=20"), "\(line)") }
        try Self.expectNoCredentials(child, harness)
    }

    @Test("with stderr connected to the journal: <N> priority prefixes and no timestamp")
    func journalPrefixes() async throws {
        let harness = try await ProxyHarness.start()
        defer { _ = harness.stopAndFindLeaks() }
        let (child, port) = try await Self.startUnderJournal(for: harness)
        defer { child.stop() }
        #expect(try await Curl.run(["http://127.0.0.1:\(port)/v1/echo?q=1"]).status == 200)
        let access = try await Self.waitForLines(child, containing: ["path=/v1/echo "])
        #expect(access[0].hasPrefix(#"<6>level=info msg="request" "#), "\(access[0])")
        let lines = Self.lines(child)
        for line in lines {
            #expect(
                ["<7>", "<6>", "<5>", "<4>", "<3>", "<2>"].contains { line.hasPrefix($0 + "level=") }, "\(line)")
            #expect(!line.contains("ts="), "\(line)")
        }
        #expect(lines.contains { $0.hasPrefix("<6>level=info ") })
        try Self.expectNoCredentials(child, harness)
    }

    /// `startProxyProcess` with `JOURNAL_STREAM` set to the device and inode of the child's standard error, as
    /// systemd does when it connects standard error to the journal: a shell learns them and execs the proxy.
    private static func startUnderJournal(for harness: ProxyHarness) async throws
        -> (child: LongRunning, port: UInt16)
    {
        let config = try TemporaryDirectory.make("proxy-journal") + "/config.json"
        let port = try freePort()
        try """
        {"client_id": "\(ProxyHarness.clientID)", "listen": ["127.0.0.1:\(port)"],
         "upstream": "https://localhost:\(harness.mockAddress.port)", "ca_file": "\(harness.certificates.caFile)"}
        """.write(toFile: config, atomically: true, encoding: .utf8)
        chmod(config, 0o600)
        let child = try LongRunning.start(
            "/bin/sh",
            [
                "-c", #"export JOURNAL_STREAM="$(stat -L -c %d:%i /proc/self/fd/2)" && exec "$@""#, "sh",
                ProxyProcessTests.binary, "run", "--config", config,
            ],
            environment: ProxyProcessTests.environment(["MICOVOICE_CLIENT_SECRET": ProxyHarness.clientSecret]))
        for _ in 0..<200 {
            if (try? await Curl.run(["http://127.0.0.1:\(port)/-/ready"]))?.status == 200 { return (child, port) }
            try await Task.sleep(for: .milliseconds(50))
        }
        child.stop()
        throw TestFailure("the proxy process never became ready: \(child.output)")
    }
}
