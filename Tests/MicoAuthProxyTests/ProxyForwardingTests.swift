import Foundation
import MicoAuthProxy
import MicoHTTP
import MicoTestSupport
import Testing

/// The proxy in this process in front of the mock API over real TLS on loopback, driven by curl.
@Suite("Forwarding through the proxy")
struct ProxyForwardingTests {
    @Test("GET is forwarded with the bearer injected, the client's credentials removed and Host rewritten")
    func injectsBearer() async throws {
        let harness = try await ProxyHarness.start()
        try await harness.waitUntilReady()
        let response = try await Curl.run([
            "-H", "Authorization: Bearer stolen-or-stale", "-H", "Proxy-Authorization: Basic Zm9vOmJhcg==",
            "\(harness.baseURL)/v1/outbound_calls/abc",
        ])
        #expect(response.status == 200)
        let json = try response.json()
        #expect(json["authorized"] as? Bool == true)
        #expect(json["target"] as? String == "/v1/outbound_calls/abc")
        let seen = try #require(harness.mock.requests.last)
        let token = try #require(harness.proxy.tokens.currentValidToken()?.value)
        #expect(seen.headers["Authorization"] == ["Bearer \(token)"])
        #expect(seen.headers["Proxy-Authorization"].isEmpty)
        #expect(seen.headers["Host"] == ["localhost:\(harness.mockAddress.port)"])
        #expect(!response.bodyText.contains(token))
        #expect(harness.stopAndFindLeaks().isEmpty)
    }

    @Test("hop-by-hop fields are removed first, so naming Authorization in Connection cannot strip the token")
    func connectionCannotStripToken() async throws {
        let harness = try await ProxyHarness.start()
        try await harness.waitUntilReady()
        let response = try await Curl.run([
            "-H", "Connection: keep-alive, Authorization, X-Drop-Me", "-H", "X-Drop-Me: 1", "-H", "Keep-Alive: 5",
            "-H", "TE: trailers", "-H", "Upgrade: websocket", "-H", "Proxy-Connection: keep-alive",
            "-H", "X-Kept: yes", "\(harness.baseURL)/v1/echo",
        ])
        #expect(response.status == 200)
        let seen = try #require(harness.mock.requests.last)
        #expect(seen.headers["Authorization"].count == 1)
        for name in ["Connection", "X-Drop-Me", "Keep-Alive", "TE", "Upgrade", "Proxy-Connection"] {
            #expect(!seen.headers.contains(name), "\(name) reached the upstream")
        }
        #expect(seen.headers["X-Kept"] == ["yes"])
        #expect(harness.stopAndFindLeaks().isEmpty)
    }

    @Test("the request target goes upstream byte for byte")
    func targetIsVerbatim() async throws {
        let harness = try await ProxyHarness.start()
        try await harness.waitUntilReady()
        let target = "/v1/echo/%2e%2E/a%2Fb/./x?q=%20a+b&q=%zz&empty=#"
        let client = try await RawClient.connect(port: harness.proxy.listenAddresses[0].port)
        try await client.send("GET \(target.dropLast()) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        let reply = await client.readToEnd()
        client.close()
        #expect(reply.text.hasPrefix("HTTP/1.1 200 "))
        #expect(harness.mock.requests.last?.target == String(target.dropLast()))
        #expect(harness.stopAndFindLeaks().isEmpty)
    }

    @Test("HTTP/1.0 clients are served, keep-alive only when asked for")
    func http10() async throws {
        let harness = try await ProxyHarness.start()
        try await harness.waitUntilReady()
        let response = try await Curl.run(["-0", "\(harness.baseURL)/v1/echo"])
        #expect(response.status == 200)
        #expect(response.header("Connection")?.lowercased() == "close")
        // A chunked upstream response reaches an HTTP/1.0 client close-delimited, whole.
        let chunked = try await Curl.run(["-0", "\(harness.baseURL)/v1/bytes/100000?mode=chunked"])
        #expect(chunked.status == 200)
        #expect(chunked.body.count == 100_000)
        #expect(chunked.header("Transfer-Encoding") == nil)
        #expect(harness.stopAndFindLeaks().isEmpty)
    }

    @Test("keep-alive: one client connection and reused upstream connections serve many requests")
    func keepAliveAndReuse() async throws {
        let harness = try await ProxyHarness.start()
        try await harness.waitUntilReady()
        let urls = (0..<10).map { "\(harness.baseURL)/v1/echo/\($0)" }
        // One curl process, ten URLs: curl keeps its connection to the proxy open between them.
        let result = try await ExternalProcess.run(
            "/usr/bin/curl",
            ["-sS", "-w", "%{http_code} %{num_connects}\\n"] + urls.flatMap { ["-o", "/dev/null", $0] })
        let lines = result.stdoutText.split(separator: "\n")
        #expect(lines.count == 10)
        #expect(lines.allSatisfy { $0.hasPrefix("200 ") }, "\(lines)")
        #expect(lines.dropFirst().allSatisfy { $0 == "200 0" }, "curl opened more than one connection: \(lines)")
        #expect(harness.mock.stats.apiRequests == 10)
        // The token fetch and ten sequential requests need far fewer than eleven TLS connections.
        #expect(harness.mock.stats.connectionsAccepted <= 2)
        #expect(harness.stopAndFindLeaks().isEmpty)
    }

    @Test("new upstream connections resume the TLS session of an earlier one")
    func upstreamConnectionsResumeTheSession() async throws {
        let harness = try await ProxyHarness.start()
        try await harness.waitUntilReady()
        // The pool's first connection makes a full handshake; its session is kept when the exchange ends.
        let first = try await ExternalProcess.run(
            "/usr/bin/curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "\(harness.baseURL)/v1/echo/first"])
        #expect(first.stdoutText == "200")
        let before = harness.mock.stats
        // Four at once: at most one of them finds the pooled connection idle; the others open connections, which
        // offer that session and resume it.
        let statuses = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    try await ExternalProcess.run(
                        "/usr/bin/curl",
                        ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "\(harness.baseURL)/v1/slow?ms=300"]
                    ).stdoutText
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(statuses == ["200", "200", "200", "200"])
        let after = harness.mock.stats
        let opened = after.connectionsAccepted - before.connectionsAccepted
        let resumed = after.sessionsResumed - before.sessionsResumed
        #expect(opened >= 1, "four concurrent requests should need a new upstream connection")
        #expect(resumed == opened, "every new upstream connection should resume: opened \(opened), resumed \(resumed)")
        #expect(harness.stopAndFindLeaks().isEmpty)
    }

    @Test("pipelined requests are answered in order")
    func pipelining() async throws {
        let harness = try await ProxyHarness.start()
        try await harness.waitUntilReady()
        let client = try await RawClient.connect(port: harness.proxy.listenAddresses[0].port)
        try await client.send(
            "GET /v1/echo/first HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                + "POST /v1/echo/second HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nhello"
                + "GET /v1/echo/third HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        let reply = await client.readToEnd()
        client.close()
        #expect(reply.closed)
        let first = try #require(reply.text.range(of: "/v1/echo/first"))
        let second = try #require(reply.text.range(of: "/v1/echo/second"))
        let third = try #require(reply.text.range(of: "/v1/echo/third"))
        #expect(first.lowerBound < second.lowerBound && second.lowerBound < third.lowerBound)
        #expect(reply.text.components(separatedBy: "HTTP/1.1 200 OK").count == 4)
        #expect(reply.text.contains("\"body_length\": 5"))
        #expect(harness.stopAndFindLeaks().isEmpty)
    }

    @Test("request bodies stream through intact: Content-Length and chunked")
    func requestBodies() async throws {
        let harness = try await ProxyHarness.start()
        try await harness.waitUntilReady()
        let directory = try TemporaryDirectory.make("body")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var generator = SystemRandomNumberGenerator()
        let body = Data((0..<(3 * 1024 * 1024 + 17)).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let file = directory + "/body.bin"
        try body.write(to: URL(fileURLWithPath: file))
        let expected = try await ExternalProcess.run("/usr/bin/sha256sum", [file]).stdoutText.prefix(64)

        let fixed = try await Curl.run(["--data-binary", "@\(file)", "-H", "Expect:", "\(harness.baseURL)/v1/upload"])
        #expect(fixed.status == 200)
        #expect(try fixed.json()["body_sha256"] as? String == String(expected))
        #expect(try fixed.json()["body_length"] as? Int == body.count)

        let chunked = try await Curl.run([
            "--data-binary", "@\(file)", "-H", "Transfer-Encoding: chunked", "-H", "Expect:",
            "\(harness.baseURL)/v1/upload",
        ])
        #expect(chunked.status == 200)
        #expect(try chunked.json()["body_sha256"] as? String == String(expected))
        #expect(harness.mock.requests.last?.headers["Transfer-Encoding"] == ["chunked"])
        #expect(harness.stopAndFindLeaks().isEmpty)
    }

    @Test("Expect: 100-continue is answered by the proxy before the body is sent")
    func expectContinue() async throws {
        let harness = try await ProxyHarness.start()
        try await harness.waitUntilReady()
        let client = try await RawClient.connect(port: harness.proxy.listenAddresses[0].port)
        try await client.send(
            "PUT /v1/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 11\r\nExpect: 100-continue\r\n"
                + "Connection: close\r\n\r\n")
        let interim = try await client.read(until: "\r\n\r\n")
        #expect(interim.hasPrefix("HTTP/1.1 100 Continue\r\n"))
        try await client.send("hello world")
        let reply = await client.readToEnd()
        client.close()
        #expect(reply.text.hasPrefix("HTTP/1.1 200 OK"))
        #expect(reply.text.contains("\"body_length\": 11"))
        #expect(harness.mock.requests.last?.headers.contains("Expect") == false)
        #expect(harness.stopAndFindLeaks().isEmpty)
    }

    @Test("responses: Content-Length, chunked and close-delimited bodies, HEAD, 204, 304")
    func responseFramings() async throws {
        let harness = try await ProxyHarness.start()
        try await harness.waitUntilReady()
        let base = harness.baseURL
        let fixed = try await Curl.run(["\(base)/v1/bytes/200000"])
        #expect(fixed.status == 200 && fixed.body.count == 200_000)
        #expect(fixed.header("Content-Length") == "200000")

        let chunked = try await Curl.run(["\(base)/v1/bytes/300000?mode=chunked"])
        #expect(chunked.status == 200 && chunked.body.count == 300_000)
        #expect(chunked.header("Transfer-Encoding") == "chunked")

        let closeDelimited = try await Curl.run(["\(base)/v1/bytes/250000?mode=close"])
        #expect(closeDelimited.status == 200 && closeDelimited.body.count == 250_000)
        #expect(closeDelimited.header("Transfer-Encoding") == "chunked")

        // HEAD: the representation's length is kept and no body follows the head.
        let client = try await RawClient.connect(port: harness.proxy.listenAddresses[0].port)
        try await client.send("HEAD /v1/bytes/12345 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        let head = await client.readToEnd()
        client.close()
        #expect(head.closed)
        #expect(head.text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(head.text.contains("\r\nContent-Length: 12345\r\n"))
        #expect(head.text.hasSuffix("\r\n\r\n"))

        let noContent = try await Curl.run(["\(base)/v1/status/204"])
        #expect(noContent.status == 204 && noContent.body.isEmpty)
        let notModified = try await Curl.run(["\(base)/v1/status/304"])
        #expect(notModified.status == 304 && notModified.body.isEmpty)
        // Each body was whole: the pattern's bytes match, nothing else crept in.
        #expect(fixed.body.prefix(3) == Data("abc".utf8))
        #expect(harness.stopAndFindLeaks().isEmpty)
    }

    @Test("redirects reach the client and are never followed")
    func redirectsPassThrough() async throws {
        let harness = try await ProxyHarness.start()
        try await harness.waitUntilReady()
        let before = harness.mock.stats.apiRequests
        let response = try await Curl.run(["\(harness.baseURL)/v1/redirect"])
        #expect(response.status == 302)
        #expect(response.header("Location") == "https://elsewhere.invalid/v1/echo")
        #expect(harness.mock.stats.apiRequests == before + 1)
        #expect(harness.stopAndFindLeaks().isEmpty)
    }
}
